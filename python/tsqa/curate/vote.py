"""Majority voting over sampled answers, with equivalent answers merged.

Extraction and canonicalisation (``rust/src/answer.rs``): ``\\boxed{}``, the last answer
marker ("The final answer is: 901", "**Final Answer:** 901", "the answer is 901."), a spec's own
``pattern`` (Rust regex syntax: linear time, so no pattern can hang a run), multiple-choice
letters ↔ option texts, numbers (thousands separators, trailing ``.0``, units, ``0.5 = 1/2 =
\\frac{1}{2}``), short text (case, punctuation, articles). Ties go to the answer that appeared
first among the samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tsqa import _native
from tsqa.curate._columns import list_column, optional_strings

__all__ = ["Mode", "PatternError", "VoteResult", "check_pattern", "majority_vote"]

Mode = Literal["multiple_choice", "number", "boxed", "final_answer", "text", "span"]
"""``span``: the sample is the answer itself (as cut out by ``pattern``)."""


class PatternError(ValueError):
    """An answer pattern that cannot be used; the message says why."""


def check_pattern(pattern: str) -> None:
    """Raise PatternError unless ``pattern`` compiles (Rust ``regex`` syntax) with exactly one
    capture group, the answer.

    >>> check_pattern(r"ANSWER: (\\d+)")
    >>> check_pattern(r"ANSWER: \\d+")
    Traceback (most recent call last):
    ...
    tsqa.curate.vote.PatternError: needs exactly one capture group (the answer), found 0
    """
    problem = _native.check_pattern(pattern)
    if problem is not None:
        raise PatternError(problem)


@dataclass(frozen=True)
class VoteResult:
    winner: pa.Array
    """Canonical winning answer per item (option letter for multiple choice); null if none."""
    winner_text: pa.Array
    """Option text of the winning letter (multiple choice with options), else the winner."""
    votes: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]
    """Samples per item, including those without an extractable answer."""
    valid: npt.NDArray[np.int64]
    agreement: npt.NDArray[np.float64]
    """votes / total."""
    reference: pa.Array
    """Canonical reference answer (null without one)."""
    matches_reference: pa.Array
    """Winner equals reference (null without a reference)."""

    def to_arrow(self) -> pa.Table:
        return pa.table({k: getattr(self, k) for k in self.__dataclass_fields__})


def majority_vote(
    samples: Sequence[Sequence[str]] | Any,
    *,
    mode: Mode = "final_answer",
    options: Sequence[Sequence[str] | None] | Any | None = None,
    references: Sequence[str | None] | Any | None = None,
    threads: int | None = None,
    pattern: str | None = None,
) -> VoteResult:
    """Votes per item; ``samples`` is a list<string> Arrow column or a list of lists of str.
    With ``pattern``, each sample is first replaced by group 1 of the pattern's last match in it
    (no match: no vote); use it with ``mode="span"`` (or ``"multiple_choice"``).

    >>> r = majority_vote([["\\\\boxed{0.5}", "\\\\boxed{1/2}", "\\\\boxed{3}"]], mode="boxed", references=["\\\\frac{1}{2}"])
    >>> r.winner.to_pylist(), r.votes.tolist(), r.matches_reference.to_pylist()
    (['1/2'], [2], [True])
    >>> majority_vote([["The final answer is: 901", "**Final Answer:** 901.", "answer: 900"]], references=["901"]).votes.tolist()
    [2]
    >>> majority_vote([["so ANSWER=12", "ANSWER=12.0", "ANSWER=13"]], mode="span", pattern=r"ANSWER=(\\S+)").winner.to_pylist()
    ['12']
    >>> majority_vote([["B", "london", "(A)"]], mode="multiple_choice", options=[["Paris", "London"]]).winner_text.to_pylist()
    ['London']
    """
    return VoteResult(
        **_native.majority_vote(
            list_column(samples, "samples"),
            mode=mode,
            options=None if options is None else list_column(options, "options"),
            references=None if references is None else optional_strings(references, "references"),
            threads=threads,
            pattern=pattern,
        )
    )
