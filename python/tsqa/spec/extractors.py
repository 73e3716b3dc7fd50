"""Which answer extractor works with which task format, and how verification then votes.

The one table behind both `tsqa lint` (rule verify-format-mismatch) and the verify stage, so lint
never accepts a combination verify cannot run, nor refuses one it can. Multiple choice always votes
in the core's multiple_choice mode (letters and option texts vote together) after the extractor
has found the span; `regex` first cuts the span out with the spec's `pattern`, checked by lint
(rule verify-pattern) with the same compiler the verify stage uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsqa.spec.models.stages import Extractor
from tsqa.spec.models.task import Format

if TYPE_CHECKING:  # lint reads this table: keep the native core out of its imports
    from tsqa.curate.vote import Mode


EXTRACTION_VERSION = 2
"""Version of what the vote core extracts (rust/src/answer.rs): in the fingerprints of the stages
that extract answers (verify, enrich), so a change re-runs them (from the cache, no model call).
2: answer markers with colon, bold, "answer is", sentence end; units; `regex` patterns."""


@dataclass(frozen=True)
class ExtractorUse:
    mode: Mode
    """The vote core's extraction and canonicalisation mode."""
    pattern: bool = False
    """Samples are first cut by the spec's `pattern` (extractor `regex`)."""


_MC = ExtractorUse("multiple_choice")

TABLE: dict[str, dict[str, ExtractorUse]] = {
    # format → extractor → how verify votes; keys are the `Format` and `Extractor` literals
    "multiple_choice": {
        "auto": _MC,
        "option": _MC,
        "final_answer": _MC,
        "boxed": _MC,
        "regex": ExtractorUse("multiple_choice", pattern=True),
    },
    "short_answer": {
        "auto": ExtractorUse("final_answer"),
        "number": ExtractorUse("number"),
        "boxed": ExtractorUse("boxed"),
        "final_answer": ExtractorUse("final_answer"),
        "text": ExtractorUse("text"),
        "regex": ExtractorUse("span", pattern=True),
    },
    "free_form": {
        "final_answer": ExtractorUse("final_answer"),
        "boxed": ExtractorUse("boxed"),
        "text": ExtractorUse("text"),
        "regex": ExtractorUse("span", pattern=True),
    },
    "code": {},  # code needs execution, not votes
}


def extractor_use(fmt: Format | str, extractor: Extractor | str) -> ExtractorUse | None:
    """How to vote on `fmt` answers read by `extractor`; None when that cannot work."""
    return TABLE.get(fmt, {}).get(extractor)


def usable(fmt: Format | str) -> set[str]:
    """The extractors that work with `fmt` (`auto` included where it resolves to one)."""
    return set(TABLE.get(fmt, {}))


def answer_reader(fmt: Format | str, verify: object) -> tuple[ExtractorUse, str | None]:
    """How a spec's answers are read wherever tsqa reads one (verify's votes, enrich's check):
    the verify rule's extractor and, for `regex`, its pattern; `final_answer` where the rule has
    none that works with `fmt` (verify kind none, free-form auto)."""
    extractor = getattr(verify, "extractor", "auto") if getattr(verify, "kind", None) == "vote" else "auto"
    use = extractor_use(fmt, extractor) or extractor_use(fmt, "auto") or ExtractorUse("final_answer")
    pattern = getattr(verify, "pattern", None) if use.pattern else None
    return use, pattern
