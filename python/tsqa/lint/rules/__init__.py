"""Semantic lint rules, run on specs that passed schema validation.

Each rule documents itself (what it does, why, an example), as ruff's rules do; `tsqa lint
--explain RULE` prints that text. Rules are pure functions of the LintContext.
"""

# Importing the modules registers their rules.
from tsqa.lint.rules import blend, models, safety, seeds, templates, uniqueness, verify  # noqa: F401
from tsqa.lint.rules.base import RULES, LintContext, Rule, rule

__all__ = ["RULES", "LintContext", "Rule", "rule"]
