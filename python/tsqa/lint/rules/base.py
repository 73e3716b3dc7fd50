"""The rule registry and the context rules read."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.spec.load import LoadedProject, LoadedSpec, SourceRef

if TYPE_CHECKING:
    from tsqa.seeds.catalog import Catalog


@dataclass
class LintContext:
    project: LoadedProject | None
    specs: list[LoadedSpec]
    catalog: Catalog | None


@dataclass(frozen=True)
class SpecFacts:
    """What the rules over the whole set of specs read of each spec: small and picklable, so specs
    loaded and checked in other processes (a parallel plan) are checked together without
    sending the specs themselves."""

    path: Path
    task: str
    task_at: SourceRef
    weight: float
    weight_at: SourceRef

    @classmethod
    def of(cls, loaded: LoadedSpec) -> SpecFacts:
        return cls(
            loaded.path,
            loaded.spec.task,
            loaded.ref(("task",)),
            loaded.spec.blend.weight,
            loaded.ref(("blend", "weight")),
        )


Check = Callable[[LintContext], Iterable[Diagnostic]]
SetCheck = Callable[[list[SpecFacts]], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    check: Callable[[Any], Iterable[Diagnostic]]
    """A Check (scope "spec") or a SetCheck (scope "set")."""
    doc: str
    scope: Literal["spec", "set"] = "spec"
    """spec: what it finds in a spec depends on that spec (and the project and catalogue) alone,
    so it may check any subset of the specs; set: it compares specs (the SpecFacts of all)."""

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0]


RULES: dict[str, Rule] = {}

# Rules raised while loading, documented here so `--explain` knows every id lint can print.
LOAD_RULES = {
    "yaml-syntax": "The file is not valid YAML (or not UTF-8 text, or binary).",
    "yaml-duplicate-key": "A mapping defines the same key twice; YAML loaders silently keep one.",
    "yaml-tag": "A YAML tag other than the core schema's (e.g. `!!python/object`); specs are data only.",
    "yaml-structure": "The file is empty or its top level is not a mapping.",
    "io-error": "The file cannot be read.",
    "schema": "A field is unknown, missing, or has a value of the wrong type or range.",
    "project-not-found": "No tsqa.yaml was found for the linted specs (use --project).",
    "catalog-unavailable": "The shipped lm-eval catalogue cannot be read, so the lm-eval rules cannot run.",
    "internal-error": "A lint rule failed on this input: a bug in tsqa, reported instead of hiding other findings.",
}


def rule(rule_id: str, severity: Severity = Severity.ERROR) -> Callable[[Check], Check]:
    """Register a check; its docstring is the rule's documentation."""

    def register(check: Check) -> Check:
        RULES[rule_id] = Rule(rule_id, severity, check, inspect.getdoc(check) or "")
        return check

    return register


def set_rule(rule_id: str, severity: Severity = Severity.ERROR) -> Callable[[SetCheck], SetCheck]:
    """Register a check over the SpecFacts of every linted spec (its docstring documents it)."""

    def register(check: SetCheck) -> SetCheck:
        RULES[rule_id] = Rule(rule_id, severity, check, inspect.getdoc(check) or "", scope="set")
        return check

    return register
