"""Blend weights must describe a usable blend."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule


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


@rule("all-weights-zero")
def all_weights_zero(ctx: LintContext) -> Iterator[Diagnostic]:
    """Every linted task has blend weight 0, so the blend would be empty.

    Why: a run whose blend samples nothing spends GPU time for no training data.

    Example: all specs with `blend: {weight: 0}`.
    """
    if ctx.specs and all(loaded.spec.blend.weight == 0 for loaded in ctx.specs):
        first = ctx.specs[0]
        yield first.diagnostic(
            ("blend", "weight"),
            "all-weights-zero",
            f"all {len(ctx.specs)} tasks have blend weight 0; the blend would be empty",
        )
