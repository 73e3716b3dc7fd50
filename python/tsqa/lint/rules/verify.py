"""The verification rule must be able to work on the task's answer format."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule
from tsqa.spec.extractors import usable as usable_extractors
from tsqa.spec.models import VoteVerify


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
        usable = usable_extractors(spec.format)  # the table the verify stage votes with
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


@rule("verify-answer-by")
def verify_answer_by(ctx: LintContext) -> Iterator[Diagnostic]:
    """`answer_by: text` on a task whose answers are not options.

    Why: `verify.answer_by` says how a multiple-choice vote sample names its option (its letter or
    its text). Other formats have no options to name, so the setting would be accepted and then
    ignored; lint refuses it instead, in the spec or in the project defaults the spec inherits.

    Example: `format: short_answer` with `verify: {answer_by: text}` → drop `answer_by`; in the
    project's `defaults.verify`, set `answer_by: letter` in the short-answer specs.
    """
    for loaded in ctx.specs:
        spec = loaded.spec
        verify = spec.verify
        if not isinstance(verify, VoteVerify) or verify.answer_by != "text" or spec.format == "multiple_choice":
            continue
        message = (
            f"answer_by 'text' names an option by its text; format {spec.format!r} has no options "
            "(use answer_by: letter, the default)"
        )
        yield loaded.diagnostic(("verify", "answer_by"), "verify-answer-by", message)


@rule("verify-pattern")
def verify_pattern(ctx: LintContext) -> Iterator[Diagnostic]:
    """An answer `pattern` that cannot cut the answer out of a solution.

    Why: with `extractor: regex`, verify votes on group 1 of the pattern's last match in each
    sampled solution. The pattern must compile in the Rust `regex` syntax verify uses (linear time:
    no look-around or back-references) and have exactly one capture group, the answer.

    Example: `pattern: "ANSWER: \\d+"` has no group → `pattern: "ANSWER: (\\d+)"`.
    """
    for loaded in ctx.specs:
        verify = loaded.spec.verify
        if not isinstance(verify, VoteVerify) or verify.pattern is None:
            continue
        # Imported only for a spec with a pattern: it loads the native core (~0.1 s of every lint).
        from tsqa.curate.vote import PatternError, check_pattern

        try:
            check_pattern(verify.pattern)
        except PatternError as exc:
            yield loaded.diagnostic(("verify", "pattern"), "verify-pattern", f"unusable answer pattern: {exc}")


def _explicit(loaded) -> set[str]:  # type: ignore[no-untyped-def]
    verify = loaded.doc.data.get("verify")
    return set(verify) if isinstance(verify, dict) else set()
