"""The table printed at the end of an apply: per task, the rows through each stage."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from tsqa.apply.run import ApplyResult
from tsqa.stages.registry import YIELD_STAGES

_COLUMNS = tuple(s.value for s in YIELD_STAGES)


def render_summary(result: ApplyResult, console: Console) -> None:
    if not console.is_terminal:
        console.width = max(console.width, 150)  # piped output: don't squeeze the table
    table = Table(title="tsqa apply — rows out of each stage", header_style="bold")
    table.add_column("task")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    total = with_rows = 0
    for task, stages in result.manifests.items():
        table.add_row(task, *[f"{stages[c].rows_out:,}" if c in stages else "—" for c in _COLUMNS])
        packaged = stages["package"].rows_out if "package" in stages else 0
        total += packaged
        with_rows += packaged > 0
    console.print(table)
    for line in result.repairs:
        console.print(f"repaired: {line}", highlight=False)
    if result.accepted_failures:
        console.print(
            f"accepted: {_calls(result.accepted_failures)} that failed after retries recorded as "
            "engine_error rejects (--accept-failures)",
            highlight=False,
        )
    if not result.complete:
        for line in result.failures:
            console.print(f"incomplete: {line}", highlight=False)
        console.print(
            f"Not finished: {_calls(result.failed_calls)} failed after retries, so their stages (and "
            "what follows them) are incomplete and no blend was written. Run `tsqa apply` again to retry "
            "exactly those calls (everything else is kept), or add --accept-failures to record them as rejects.",
            highlight=False,
        )
        return
    console.print(
        f"Applied: {total:,} rows packaged in {with_rows} of {len(result.manifests)} tasks. Run directory "
        f"{_shown(result.run_dir)}; blend {_shown(result.blend)}; report {_shown(result.report)}.",
        highlight=False,
    )


def _calls(n: int) -> str:
    return f"{n:,} model call" + ("" if n == 1 else "s")


def _shown(path: Path) -> str:
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
