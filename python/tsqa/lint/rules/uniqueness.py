"""Task names identify outputs; they must be unique across the linted specs."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.rules.base import SpecFacts, set_rule


@set_rule("duplicate-task")
def duplicate_task(specs: list[SpecFacts]) -> Iterator[Diagnostic]:
    """Two specs declare the same `task` name.

    Why: the task name keys the output shards, manifests and blend entries; two specs would
    overwrite each other's data.

    Example: specs/arc.yaml and specs/arc_copy.yaml both with `task: arc_easy`.
    """
    first: dict[str, SpecFacts] = {}
    for facts in specs:
        name = facts.task
        if name in first:
            other = first[name]
            at = facts.task_at
            yield Diagnostic(
                at.file,
                at.pos.line,
                at.pos.col,
                "duplicate-task",
                Severity.ERROR,
                "task",
                f"task {name!r} is already defined in {other.path}:{other.task_at.pos.line}",
            )
        else:
            first[name] = facts
