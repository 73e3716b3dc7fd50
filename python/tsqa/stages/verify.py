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
from tsqa.spec.extractors import EXTRACTION_VERSION, extractor_use
from tsqa.spec.models import NoVerify, TaskSpec, VoteVerify
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.schema import SCHEMAS, rejects_from


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
    from tsqa.curate.vote import majority_vote

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


class VerifyStage(StageDef):
    stage = Stage.VERIFY
    reads = Stage.SOLVE
    schema = SCHEMAS["verify"]
    keep_rate = True

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # The solver's model, prompt, samples, sampling and answer form are solve's inputs, not the
        # vote's (solve hands every sample over as the letter of the option in the question's order).
        rule = spec.verify.model_dump(mode="json", exclude={"model", "prompt", "samples", "sampling", "answer_by"})
        return {**rule, "extraction": EXTRACTION_VERSION}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        return verify_columns(rows, task.spec.format, task.spec.verify)


def verify_columns(rows: pa.Table, fmt: str, rule: VoteVerify | NoVerify) -> Filtered:
    """Vote on a shard of solved questions, column-wise: the Rust core extracts and counts the
    answers of every row at once; only rejected rows are touched one by one (for their detail)."""
    import numpy as np
    import pyarrow.compute as pc

    schema = SCHEMAS["verify"]
    if not isinstance(rule, VoteVerify):
        n = rows.num_rows
        return Filtered(
            _with(rows, schema, None, pa.array(np.zeros(n, np.int64)), pa.array(np.zeros(n, np.int64)), None)
        )
    failed = pc.fill_null(pc.greater(pc.utf8_length(rows.column("error")), 0), False)
    errors, voting = rows.filter(failed), rows.filter(pc.invert(failed))
    # rejects are listed in row order, whatever the batch: an engine error among the voted rows
    failed_rows = np.asarray(failed.to_numpy(zero_copy_only=False), np.bool_)
    error_rows, voting_rows = np.flatnonzero(failed_rows), np.flatnonzero(~failed_rows)
    ids = errors.column("question_id").to_pylist()
    reasons = ["engine_error"] * len(ids)
    details = [(e or "")[:300] for e in errors.column("error").to_pylist()]
    use = extractor_use(fmt, rule.extractor)  # the table lint checks specs against
    mode = use.mode if use else None
    if mode is None or not voting.num_rows:  # nothing to extract: kept, agreement unknown
        total = pc.fill_null(pc.list_value_length(voting.column("samples")), 0).cast(pa.int64())
        votes = pa.array(np.zeros(voting.num_rows, np.int64))
        return Filtered(_with(voting, schema, None, votes, total, None), rejects_from(ids, reasons, details))
    from tsqa.curate.vote import majority_vote

    if fmt == "multiple_choice":
        options = voting.column("options")
        references = pa.array(list(LETTERS)).take(voting.column("answer_index"))
    else:
        options, references = None, voting.column("answer_text")
    pattern = rule.pattern if use is not None and use.pattern else None  # extractor: regex
    result = majority_vote(
        voting.column("samples"),
        mode=mode,
        options=options,
        references=references,
        pattern=pattern,
    )
    votes, agreement = result.votes, result.agreement
    matches = np.asarray(pc.fill_null(result.matches_reference, False).to_numpy(zero_copy_only=False), dtype=bool)
    reason = np.full(voting.num_rows, "kept", dtype=object)
    if rule.require_match:
        reason[~matches] = "answer_mismatch"
    reason[agreement < rule.min_agreement] = "low_agreement"
    if fmt == "multiple_choice":  # more votes than a pure position preference could give (option_order)
        n_options = np.maximum(pc.fill_null(pc.list_value_length(options), 1).to_numpy(zero_copy_only=False), 1)
        reason[votes <= -(-np.asarray(result.total) // n_options)] = "low_agreement"
    reason[votes == 0] = "no_answer_extracted"
    keep = reason == "kept"
    kept = _with(
        voting.filter(pa.array(keep)),
        schema,
        result.winner_text.filter(pa.array(keep)),
        pa.array(votes[keep]),
        pa.array(result.total[keep]),
        pa.array(agreement[keep]),
    )
    dropped = np.flatnonzero(~keep)
    winners = result.winner_text.take(pa.array(dropped)).to_pylist()
    ids += voting.column("question_id").take(pa.array(dropped)).to_pylist()
    reasons += reason[dropped].tolist()
    details += [
        f"winner {w!r}, {votes[i]}/{result.total[i]} votes" for w, i in zip(winners, dropped.tolist(), strict=True)
    ]
    order = np.argsort(np.concatenate([error_rows, voting_rows[dropped]]), kind="stable").tolist()
    return Filtered(
        kept, rejects_from([ids[i] for i in order], [reasons[i] for i in order], [details[i] for i in order])
    )


def _with(rows: pa.Table, schema: pa.Schema, winner: Any, votes: Any, total: Any, agreement: Any) -> pa.Table:
    n = rows.num_rows
    columns = {
        "winner": winner if winner is not None else pa.nulls(n, pa.string()),
        "votes": votes,
        "total": total,
        "agreement": agreement if agreement is not None else pa.nulls(n, pa.float64()),
    }
    return pa.Table.from_arrays(
        [columns[f.name].cast(f.type) if f.name in columns else rows.column(f.name).cast(f.type) for f in schema],
        schema=schema,
    )
