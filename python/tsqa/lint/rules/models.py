"""Stages must use models the project file declares."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule
from tsqa.spec.models import VoteVerify


@rule("undeclared-model")
def undeclared_model(ctx: LintContext) -> Iterator[Diagnostic]:
    """A stage names a model that tsqa.yaml does not declare under `models:`.

    Why: apply would fail when the stage starts, after GPU time was already spent on earlier stages.

    Example: `generate: {model: genrator}` with `models: {generator: …}` in tsqa.yaml.
    """
    if ctx.project is None:
        return
    declared = ctx.project.project.models
    for loaded in ctx.specs:
        spec = loaded.spec
        uses = [(("generate", "model"), spec.generate.model), (("enrich", "model"), spec.enrich.model)]
        if isinstance(spec.verify, VoteVerify):
            uses.append((("verify", "model"), spec.verify.model))
        for path, name in uses:
            if name not in declared:
                known = ", ".join(sorted(declared))
                yield loaded.diagnostic(
                    path,
                    "undeclared-model",
                    f"model {name!r} is not declared in {ctx.project.path.name} (declared: {known})",
                )
