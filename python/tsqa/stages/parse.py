"""Parse and validate generated questions. Every rejection keeps its reason.

Checks, in order: the engine returned text; it is JSON of the expected shape; the question and
answer are within length bounds; multiple choice has the seed's option count, distinct options and
an answer among them; the question is not a near-copy of its seed (MinHash estimate from the Rust
core, computed for the whole batch at once). Kept multiple-choice options are reordered by a shuffle
seeded with the question's content, so the answer's position is uniform whatever the generator
favoured.

The stage runs the Rust core over the generate table's Arrow columns (`parse_columns`,
`tsqa._native.parse_generations`): the same checks, reasons, messages and option orders as the
Python implementation below (`parse_candidates`), which stays as the reference the tests compare
with and as the path for the rare batch whose JSON only Python decodes as Python does (a lone
surrogate escape, an integer of thousands of digits, nesting past 100 levels).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.option_order import shuffle_options
from tsqa.stages.output_schema import BOUNDS, LETTERS
from tsqa.stages.schema import SCHEMAS, rejects_from, to_table

if TYPE_CHECKING:
    from tsqa.store.manifest import Manifest

NEAR_COPY_JACCARD = 0.7  # estimated Jaccard of word 3-grams with the seed question


@dataclass(frozen=True)
class Candidate:
    """One generator response for one seed."""

    candidate_id: str
    seed_id: str
    seed_question: str
    n_options: int | None
    text: str | None
    finish_reason: str | None
    error: str | None


@dataclass
class ParseResult:
    questions: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, candidate_id: str, seed_id: str, reason: str, detail: str) -> None:
        self.rejects.append(
            {"candidate_id": candidate_id, "seed_id": seed_id, "reason": reason, "detail": detail[:300]}
        )


def parse_candidates(fmt: str, candidates: list[Candidate], *, with_context: bool) -> ParseResult:
    result = ParseResult()
    pending: list[tuple[dict[str, Any], str]] = []
    for cand in candidates:
        for position, item in enumerate(_items(cand, result)):
            question = _validate(fmt, cand, item, result, with_context)
            if question is not None:
                question.update(
                    question_id=f"{cand.candidate_id}.{position}", seed_id=cand.seed_id, candidate_id=cand.candidate_id
                )
                if question["options"]:  # generators favour answer slots: a seeded shuffle makes it uniform
                    # Keyed by content, so a question generated twice is shuffled alike (dedup still sees it).
                    question["options"], question["answer_index"] = shuffle_options(
                        question["options"],
                        question["answer_index"],
                        key="\x1f".join([question["question"], *question["options"]]),
                    )
                pending.append((question, cand.seed_question))
    _drop_near_copies(pending, result)
    return result


def _items(cand: Candidate, result: ParseResult) -> list[dict[str, Any]]:
    if cand.error is not None:
        result.reject(cand.candidate_id, cand.seed_id, "engine_error", cand.error)
        return []
    try:
        payload = json.loads(cand.text or "")
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer past Python's digit limit
        reason = "truncated" if cand.finish_reason == "length" else "invalid_json"
        result.reject(cand.candidate_id, cand.seed_id, reason, (cand.text or "")[:200])
        return []
    items = payload.get("questions") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        result.reject(cand.candidate_id, cand.seed_id, "schema", 'expected {"questions": [...]} with at least one item')
        return []
    return [i if isinstance(i, dict) else {"_not_an_object": i} for i in items]


def _validate(
    fmt: str, cand: Candidate, item: dict[str, Any], result: ParseResult, with_context: bool
) -> dict[str, Any] | None:
    def reject(reason: str, detail: str) -> None:
        result.reject(cand.candidate_id, cand.seed_id, reason, detail)

    question = item.get("question")
    answer = item.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str):
        reject("schema", f"question and answer must be strings, got {sorted(item)}")
        return None
    question, answer = question.strip(), answer.strip()
    if not _within(question, BOUNDS.question_chars):
        reject("length", f"question has {len(question)} characters, outside {BOUNDS.question_chars}")
        return None
    context = item.get("context") if with_context else None
    if with_context and (not isinstance(context, str) or not context.strip()):
        reject("schema", "context is required for this task")
        return None
    out: dict[str, Any] = {
        "question": question,
        "context": context.strip() if isinstance(context, str) else None,
        "options": None,
        "answer_index": None,
        "answer_text": answer,
    }
    if fmt == "multiple_choice":
        options = item.get("options")
        if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
            reject("schema", "options must be a list of non-empty strings")
            return None
        options = [o.strip() for o in options]
        if cand.n_options is not None and len(options) != cand.n_options:
            reject("option_count", f"{len(options)} options, the seed has {cand.n_options}")
            return None
        if len(options) < 2 or len({o.casefold() for o in options}) != len(options):
            reject("duplicate_options", f"options must be ≥ 2 and distinct: {options}")
            return None
        index = _answer_index(answer, options)
        if index is None:
            reject("answer_not_in_options", f"answer {answer!r} is neither a letter nor an option")
            return None
        out.update(options=options, answer_index=index, answer_text=options[index])
    else:
        bounds = BOUNDS.answer_chars if fmt == "short_answer" else BOUNDS.long_answer_chars
        if not _within(answer, bounds):
            reject("length", f"answer has {len(answer)} characters, outside {bounds}")
            return None
    if not _encodable(out):  # a lone surrogate escape ("\ud800") decodes to text no UTF-8 file holds
        reject("schema", "question, answer, options and context must be valid Unicode (a lone surrogate escape)")
        return None
    return out


def _encodable(question: dict[str, Any]) -> bool:
    texts = [question["question"], question["answer_text"], question["context"] or "", *(question["options"] or [])]
    try:
        "".join(texts).encode()
    except UnicodeEncodeError:
        return False
    return True


def _answer_index(answer: str, options: list[str]) -> int | None:
    letter = answer.strip().strip("().").upper()
    if len(letter) == 1 and letter in LETTERS[: len(options)]:
        return LETTERS.index(letter)
    folded = [o.casefold() for o in options]
    return folded.index(answer.casefold()) if answer.casefold() in folded else None


def _within(text: str, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= len(text) <= bounds[1]


def _drop_near_copies(pending: list[tuple[dict[str, Any], str]], result: ParseResult) -> None:
    if not pending:
        return
    import numpy as np

    from tsqa.curate.neardup import minhash_signatures

    new = minhash_signatures([q["question"] for q, _ in pending], ngram=3, num_perm=128)
    # Each seed question once (a response holds per_seed questions of the same seed).
    seed_texts: dict[str, int] = {}
    which = [seed_texts.setdefault(s, len(seed_texts)) for _, s in pending]
    seeds = minhash_signatures(list(seed_texts), ngram=3, num_perm=128)[np.asarray(which, dtype=np.intp)]
    similarity = (new == seeds).mean(axis=1)
    for (question, _), sim in zip(pending, similarity.tolist(), strict=True):
        if sim >= NEAR_COPY_JACCARD:
            result.reject(
                question["candidate_id"],
                question["seed_id"],
                "near_copy_of_seed",
                f"estimated Jaccard {sim:.2f} with the seed question",
            )
        else:
            result.questions.append(question)


_FIELDS = ("candidate_id", "seed_id", "seed_question", "n_options", "text", "finish_reason", "error")


def parse_columns(rows: pa.Table, fmt: str, *, with_context: bool) -> Filtered:
    """Parse a shard of the generate table in the Rust core: the parse table and its rejects,
    row for row what `parse_candidates` gives."""
    from tsqa import _native

    out = _native.parse_generations(
        *(rows.column(f) for f in _FIELDS),
        format=fmt,
        with_context=with_context,
        question_chars=BOUNDS.question_chars,
        answer_chars=BOUNDS.answer_chars,
        long_answer_chars=BOUNDS.long_answer_chars,
    )
    if out is None:  # a response only Python's json decodes as Python does
        return parse_columns_python(rows, fmt, with_context=with_context)
    schema = SCHEMAS["parse"]
    kept = pa.Table.from_arrays([out[f.name].cast(f.type) for f in schema], schema=schema)
    return Filtered(kept, rejects_from(out["reject_id"], out["reject_reason"], out["reject_detail"]))


def parse_columns_python(rows: pa.Table, fmt: str, *, with_context: bool) -> Filtered:
    """`parse_columns` by the Python implementation (the reference)."""
    # Column by column: a dict per row (Table.to_pylist) costs more than the candidate itself.
    candidates = [Candidate(*values) for values in zip(*(rows.column(f).to_pylist() for f in _FIELDS), strict=True)]
    result = parse_candidates(fmt, candidates, with_context=with_context)
    rejects = result.rejects
    return Filtered(
        to_table("parse", result.questions),
        rejects_from(
            [r["candidate_id"] for r in rejects], [r["reason"] for r in rejects], [r["detail"] for r in rejects]
        ),
    )


# -- the stage -------------------------------------------------------------------------------------
# Bump when parse/validate rules change meaning: re-parses cached generations (2: option shuffle;
# 3: the shuffle's permutation from a BLAKE2b digest instead of a numpy Generator, new option orders).
PARSER_VERSION = 3


class ParseStage(StageDef):
    stage = Stage.PARSE
    reads = Stage.GENERATE
    schema = SCHEMAS["parse"]
    keep_rate = True

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {"parser": PARSER_VERSION, "format": spec.format}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        return parse_columns(rows, task.spec.format, with_context=task.with_context)

    def measured_keep(self, manifests: Mapping[str, Manifest], spec: TaskSpec) -> float | None:
        # Questions kept per question asked for (a response holds up to per_seed of them).
        asked = manifests[Stage.GENERATE.value].rows_out * spec.generate.per_seed
        return manifests[self.stage.value].rows_out / asked if asked else None
