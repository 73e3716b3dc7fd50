"""The verification rule must be able to work on the task's answer format."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule
from tsqa.spec.models import VoteVerify

# Which extractors can turn a sampled solution of each format into a comparable answer.
_USABLE = {
    "multiple_choice": {"auto", "option", "final_answer", "boxed", "regex"},
    "short_answer": {"auto", "number", "boxed", "final_answer", "text", "regex"},
    "free_form": {"final_answer", "boxed", "text", "regex"},
    "code": set(),
}


@rule("verify-format-mismatch")
def verify_format_mismatch(ctx: LintContext) -> Iterator[Diagnostic]:
    """A verification rule that cannot work with the task's answer format.

    Why: majority voting compares extracted answers. Free-form text has no canonical answer unless
    an extractor pulls one out; code needs execution, not votes; an option extractor needs options.

    Example: `format: free_form` with `verify: {kind: vote}` and no `extractor:` → set
    `extractor: final_answer` (or `regex` with a `pattern`), or use `verify: {kind: none}`.
    """
    for loaded in ctx.specs:
        spec = loaded.spec
        verify = spec.verify
        if not isinstance(verify, VoteVerify):
            continue
        usable = _USABLE[spec.format]
        if verify.extractor in usable:
            continue
        if not usable:
            message = f"majority vote cannot verify format {spec.format!r}; use verify: {{kind: none}}"
        elif verify.extractor in {"auto", "none"}:
            message = (
                f"majority vote on {spec.format!r} answers needs an extractor "
                f"(one of: {', '.join(sorted(usable - {'auto'}))})"
            )
        else:
            message = f"extractor {verify.extractor!r} does not work with format {spec.format!r}"
        path = ("verify", "extractor") if "extractor" in _explicit(loaded) else ("verify",)
        yield loaded.diagnostic(path, "verify-format-mismatch", message, prefer_key=path == ("verify",))


def _explicit(loaded) -> set[str]:  # type: ignore[no-untyped-def]
    verify = loaded.doc.data.get("verify")
    return set(verify) if isinstance(verify, dict) else set()
