"""Specs → Plan: stage DAGs with content fingerprints, estimates, diffs and saved plans."""

from tsqa.compile.compiler import compile_plan
from tsqa.compile.plan import Plan
from tsqa.compile.stages import ChangeKind, Stage

__all__ = ["ChangeKind", "Plan", "Stage", "compile_plan"]
