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

from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.schema import SCHEMAS, rejects_from, to_table

_MODE_BY_EXTRACTOR = {
    "option": "multiple_choice",
    "number": "number",
    "boxed": "boxed",
    "final_answer": "final_answer",
    "text": "text",
}


def vote_mode(fmt: str, extractor: str) -> str | None:
    if extractor == "auto":
        return {"multiple_choice": "multiple_choice", "short_answer": "final_answer"}.get(fmt)
    return _MODE_BY_EXTRACTOR.get(extractor)


@dataclass(frozen=True)
class Verdicts:
    table: pa.Table
    """question_id, winner, votes, total, agreement, matches, kept, reason."""


def verify_by_vote(questions: list[dict[str, Any]], samples: list[list[str]], fmt: str, rule: VoteVerify) -> Verdicts:
    mode = vote_mode(fmt, rule.extractor)
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
    from tsqa.curate.vote import majority_vote

    options = [q["options"] for q in questions] if fmt == "multiple_choice" else None
    references = [LETTERS[q["answer_index"]] if fmt == "multiple_choice" else q["answer_text"] for q in questions]
    result = majority_vote(samples, mode=mode, options=options, references=references)  # type: ignore[arg-type]
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


class VerifyStage(StageDef):
    stage = Stage.VERIFY
    reads = Stage.SOLVE
    schema = SCHEMAS["verify"]
    keep_rate = True

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # The solver's model, prompt, samples and sampling are solve's inputs, not the vote's.
        return spec.verify.model_dump(mode="json", exclude={"model", "prompt", "samples", "sampling"})

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        spec = task.spec
        records = rows.to_pylist()
        if not isinstance(spec.verify, VoteVerify):
            kept = [{**r, "winner": None, "votes": 0, "total": 0, "agreement": None} for r in records]
            return Filtered(to_table("verify", kept))
        failed = [r for r in records if r.get("error")]
        voting = [r for r in records if not r.get("error")]
        verdicts = verify_by_vote(voting, [r["samples"] for r in voting], spec.format, spec.verify).table.to_pylist()
        ids = [r["question_id"] for r in failed]
        reasons = ["engine_error"] * len(failed)
        details = [(r["error"] or "")[:300] for r in failed]
        kept = []
        for row, verdict in zip(voting, verdicts, strict=True):
            if verdict["kept"]:
                kept.append({**row, **{k: verdict[k] for k in ("winner", "votes", "total", "agreement")}})
            else:
                ids.append(row["question_id"])
                reasons.append(verdict["reason"])
                details.append(f"winner {verdict['winner']!r}, {verdict['votes']}/{verdict['total']} votes")
        return Filtered(to_table("verify", kept), rejects_from(ids, reasons, details))
