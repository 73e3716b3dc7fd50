"""The rule registry and the context rules read."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.spec.load import LoadedProject, LoadedSpec

if TYPE_CHECKING:
    from tsqa.seeds.catalog import Catalog


@dataclass
class LintContext:
    project: LoadedProject | None
    specs: list[LoadedSpec]
    catalog: Catalog | None


Check = Callable[[LintContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    check: Check
    doc: str

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
