"""Verify questions by majority vote over k sampled solutions (Rust core), keep by agreement.

Keep a question when the winning answer's share of the samples reaches `min_agreement` and, when
`require_match`, the winner equals the generator's own answer (option ↔ letter aware for multiple
choice; numbers canonicalised). Free-form tasks without a usable extractor are kept with their
agreement recorded (lint already refuses voting on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tsqa.curate.vote import majority_vote
from tsqa.spec.extractors import extractor_use
from tsqa.spec.models import VoteVerify
from tsqa.stages.output_schema import LETTERS


def vote_mode(fmt: str, extractor: str) -> str | None:
    use = extractor_use(fmt, extractor)  # the table lint checks specs against
    return use.mode if use else None


@dataclass(frozen=True)
class Verdicts:
    table: pa.Table
    """question_id, winner, votes, total, agreement, matches, kept, reason."""


def verify_by_vote(questions: list[dict[str, Any]], samples: list[list[str]], fmt: str, rule: VoteVerify) -> Verdicts:
    use = extractor_use(fmt, rule.extractor)
    mode = use.mode if use else None
    ids = [q["question_id"] for q in questions]
    if mode is None or not questions:
        return Verdicts(
            pa.table(
                {
                    "question_id": ids,
                    "winner": [None] * len(ids),
                    "votes": [0] * len(ids),
                    "total": [len(s) for s in samples],
                    "agreement": [None] * len(ids),
                    "matches": [None] * len(ids),
                    "kept": [True] * len(ids),
                    "reason": ["no_extractor"] * len(ids),
                },
                schema=_SCHEMA,
            )
        )
    options = [q["options"] for q in questions] if fmt == "multiple_choice" else None
    references = [LETTERS[q["answer_index"]] if fmt == "multiple_choice" else q["answer_text"] for q in questions]
    pattern = rule.pattern if use and use.pattern else None
    result = majority_vote(samples, mode=mode, options=options, references=references, pattern=pattern)
    matches = result.matches_reference.to_pylist()
    agreement = result.agreement.tolist()
    reasons = [_reason(a, m, v, rule) for a, m, v in zip(agreement, matches, result.votes.tolist(), strict=True)]
    kept = [r == "kept" for r in reasons]
    return Verdicts(
        pa.table(
            {
                "question_id": ids,
                "winner": result.winner_text.to_pylist(),
                "votes": result.votes.tolist(),
                "total": result.total.tolist(),
                "agreement": agreement,
                "matches": matches,
                "kept": kept,
                "reason": reasons,
            },
            schema=_SCHEMA,
        )
    )


def _reason(agreement: float, matches: bool | None, votes: int, rule: VoteVerify) -> str:
    if votes == 0:
        return "no_answer_extracted"
    if agreement < rule.min_agreement:
        return "low_agreement"
    if rule.require_match and not matches:
        return "answer_mismatch"
    return "kept"


_SCHEMA = pa.schema(
    [
        ("question_id", pa.string()),
        ("winner", pa.string()),
        ("votes", pa.int64()),
        ("total", pa.int64()),
        ("agreement", pa.float64()),
        ("matches", pa.bool_()),
        ("kept", pa.bool_()),
        ("reason", pa.string()),
    ]
)
