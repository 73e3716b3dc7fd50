"""Specs → Plan: stage DAGs with content fingerprints, estimates, diffs and saved plans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tsqa.compile.plan import Plan
from tsqa.compile.stages import ChangeKind, Stage

if TYPE_CHECKING:
    from tsqa.compile.compiler import compile_plan

__all__ = ["ChangeKind", "Plan", "Stage", "compile_plan"]


def __getattr__(name: str) -> Any:
    # Lazy: the compiler imports the stage registry, whose modules import compile.stages.
    if name == "compile_plan":
        from tsqa.compile.compiler import compile_plan

        return compile_plan
    raise AttributeError(name)
