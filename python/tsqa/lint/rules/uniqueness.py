"""Task names identify outputs; they must be unique across the linted specs."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule
from tsqa.spec.load import LoadedSpec


@rule("duplicate-task")
def duplicate_task(ctx: LintContext) -> Iterator[Diagnostic]:
    """Two specs declare the same `task` name.

    Why: the task name keys the output shards, manifests and blend entries; two specs would
    overwrite each other's data.

    Example: specs/arc.yaml and specs/arc_copy.yaml both with `task: arc_easy`.
    """
    first: dict[str, LoadedSpec] = {}
    for loaded in ctx.specs:
        name = loaded.spec.task
        if name in first:
            other = first[name]
            ref = other.ref(("task",))
            yield loaded.diagnostic(
                ("task",), "duplicate-task", f"task {name!r} is already defined in {other.path}:{ref.pos.line}"
            )
        else:
            first[name] = loaded
