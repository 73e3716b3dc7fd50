"""Progress bars per stage (rich), as the Progress callback the executor takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def rich_progress(
    console: Console, *, enabled: bool = True
) -> Iterator[Callable[[str, int, int], Callable[[int], None]] | None]:
    if not enabled:
        yield None
        return
    bars = Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )

    def start(label: str, total: int, done: int) -> Callable[[int], None]:
        task = bars.add_task(label, total=total, completed=done)
        return lambda n: bars.advance(task, n)

    with bars:
        yield start
