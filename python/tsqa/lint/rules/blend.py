"""Blend weights must describe a usable blend."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.rules.base import LintContext, SpecFacts, rule, set_rule


@rule("negative-weight")
def negative_weight(ctx: LintContext) -> Iterator[Diagnostic]:
    """A task's blend weight is negative.

    Why: weights are sampling proportions; a negative one has no meaning in a training blend.

    Example: `blend: {weight: -1}` → use 0 to keep the data out of the blend.
    """
    for loaded in ctx.specs:
        weight = loaded.spec.blend.weight
        if weight < 0:
            yield loaded.diagnostic(
                ("blend", "weight"), "negative-weight", f"blend weight must be ≥ 0, found {weight:g}"
            )


@set_rule("all-weights-zero")
def all_weights_zero(specs: list[SpecFacts]) -> Iterator[Diagnostic]:
    """Every linted task has blend weight 0, so the blend would be empty.

    Why: a run whose blend samples nothing spends GPU time for no training data.

    Example: all specs with `blend: {weight: 0}`.
    """
    if specs and all(facts.weight == 0 for facts in specs):
        at = specs[0].weight_at
        yield Diagnostic(
            at.file,
            at.pos.line,
            at.pos.col,
            "all-weights-zero",
            Severity.ERROR,
            "blend.weight",
            f"all {len(specs)} tasks have blend weight 0; the blend would be empty",
        )
