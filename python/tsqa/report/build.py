"""Compute the report's numbers from a run's data (pure; `read_run` does the reading)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tsqa.report import metrics
from tsqa.report.run_data import RunData, TaskData, iter_columns, num_rows, read_run
from tsqa.stages.option_order import uniformity_p_value

SAMPLES_PER_TASK = 3
AGREEMENT_EDGES = [i / 10 for i in range(11)]
YIELD_STAGES = ("seeds", "normalise", "generate", "parse", "verify", "enrich", "dedup", "decontaminate", "package")
_VOTES = r"(?P<votes>\d+)/(?P<total>\d+) votes"
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Positions:
    n_options: int
    seeds: list[int]
    outputs: list[int]
    seeds_p: float | None
    outputs_p: float | None


@dataclass
class Diversity:
    distinct: dict[str, tuple[float | None, float | None]]
    """distinct-1/2/3 of questions: (seeds, outputs)."""
    within_seeds: float | None
    within_outputs: float | None
    to_own_seed: float | None
    to_nearest_seed: float | None


@dataclass
class TaskReport:
    task: str
    group: str | None
    format: str | None
    seeds: int
    questions: int
    rows: int
    samples: list[dict[str, Any]]
    """Packaged question beside its seed: {seed: {...}, output: {...}}."""
    diversity: Diversity
    positions: Positions | None
    lengths: dict[str, tuple[dict[str, float] | None, dict[str, float] | None]]
    """question/answer/enrichment characters: (seeds, outputs)."""
    yields: dict[str, int]
    rejections: list[dict[str, Any]]
    """stage, reason, count, example id, example detail."""
    agreement_kept: Floats
    agreement_rejected: Floats
    calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    root: Path
    project: str | None
    tasks: list[TaskReport]
    tokens_by_group: dict[str, int]
    rows_by_group: dict[str, int]
    total_rows: int
    total_tokens: int


def build_report(run: RunData | Path) -> Report:
    data = run if isinstance(run, RunData) else read_run(run)
    tasks = [_task(t) for t in data.tasks.values()]
    tokens: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for entry in (data.blend or {}).get("tasks", []):
        tokens[entry.get("group") or "—"] += int(entry.get("tokens") or 0)
        rows[entry.get("group") or "—"] += int(entry.get("rows") or 0)
    if not data.blend:
        for t in tasks:
            rows[t.group or "—"] += t.rows
    return Report(
        root=data.root,
        project=data.project,
        tasks=tasks,
        tokens_by_group=dict(tokens),
        rows_by_group=dict(rows),
        total_rows=sum(t.rows for t in tasks),
        total_tokens=sum(tokens.values()),
    )


_QUESTION_COLUMNS = [
    "question_id",
    "seed_id",
    "question",
    "options",
    "answer_index",
    "answer_text",
    "context",
    "agreement",
    "votes",
    "samples",
]
_SEED_COLUMNS = ["seed_id", "question", "options", "answer_index", "answer_text", "context"]


class _Positions:
    """Answer positions counted per option count, shard by shard (which count is the task's is
    known only at the end: the most common among its seeds)."""

    def __init__(self) -> None:
        self.rows: Counter[int] = Counter()
        self.counts: dict[int, Ints] = {}

    def add(self, options: pa.ChunkedArray, answer_index: pa.ChunkedArray) -> None:
        if pa.types.is_null(options.type):
            return
        lengths = pc.list_value_length(options).fill_null(0).to_numpy()
        index = _ints(answer_index, len(lengths))
        values, first = np.unique(lengths, return_index=True)
        for n in (int(v) for v in values[np.argsort(first)] if v > 0):  # first-seen order, as a Counter of rows
            mask = lengths == n
            self.rows[n] += int(mask.sum())
            picked = index[mask]
            picked = picked[(picked >= 0) & (picked < n)]
            self.counts[n] = self.counts.get(n, np.zeros(n, np.int64)) + np.bincount(picked, minlength=n)

    def of(self, n: int) -> list[int]:
        return [int(c) for c in self.counts.get(n, np.zeros(n, np.int64))]


def _ints(column: pa.ChunkedArray, n: int) -> Ints:
    if pa.types.is_null(column.type):
        return np.full(n, -1, np.int64)
    return np.asarray(pc.cast(column, pa.int64()).fill_null(-1).to_numpy(), dtype=np.int64)


def _chars(column: pa.ChunkedArray) -> Ints:
    """Characters of every non-empty text of the column (nulls and "" skipped)."""
    if pa.types.is_null(column.type):
        return np.zeros(0, np.int64)
    lengths = np.asarray(pc.utf8_length(column).drop_null().to_numpy(), dtype=np.int64)
    return lengths[lengths > 0]


def _floats(column: pa.ChunkedArray) -> Floats:
    if pa.types.is_null(column.type):
        return np.zeros(0, np.float64)
    return np.asarray(pc.cast(column, pa.float64()).drop_null().to_numpy(), dtype=np.float64)


def _concat(parts: list[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _take(table: pa.Table, rows: Ints, offset: int) -> pa.Table:
    """The rows of `table` (one shard starting at global row `offset`) among the sorted global `rows`."""
    lo, hi = np.searchsorted(rows, [offset, offset + table.num_rows])
    return table.take(pa.array(rows[lo:hi] - offset))


def _first_rows(files: Sequence[Path]) -> Ints:
    """Global row number of the first packaged row of each question (rows repeat a question once per
    enrichment variant), in the order questions first appear.

    Holds 16 bytes per question whatever the texts: each key is kept as its 64-bit hash (Python's,
    keyed per process), not as text. Two questions whose keys collide (about 3 chances in 10^8
    for a million questions) would count as one in the report; no row is affected."""
    hashes: list[npt.NDArray[np.int64]] = []
    starts: list[Ints] = []
    own: list[Ints] = []  # rows without any id: each a question of its own
    offset, last = 0, None
    for table in iter_columns(files, ["question_id", "id"]):
        key = pc.coalesce(table["question_id"].cast(pa.string()), table["id"].cast(pa.string())).combine_chunks()
        if len(key):
            missing = np.asarray(key.is_null().to_numpy(zero_copy_only=False), np.bool_)
            own.append(np.flatnonzero(missing) + offset)
            # a question's variants are written next to each other: only where the key changes can
            # a question appear for the first time (the rest are repeats, hashed no more)
            changed = np.ones(len(key), np.bool_)
            after = pc.not_equal(key[1:], key[:-1]).fill_null(True)  # after a row without id: a change
            changed[1:] = np.asarray(after.to_numpy(zero_copy_only=False), np.bool_)
            changed[0] = key[0].as_py() != last
            changed &= ~missing
            last = key[-1].as_py()
            rows = np.flatnonzero(changed)
            hashes.append(np.fromiter((hash(k) for k in key.take(pa.array(rows)).to_pylist()), np.int64, len(rows)))
            starts.append(rows + offset)
        offset += table.num_rows
    if not hashes:
        return np.zeros(0, np.int64)
    _, first = np.unique(np.concatenate(hashes), return_index=True)
    return np.sort(np.concatenate([np.concatenate(starts)[first], *own]))


@dataclass
class _Side:
    """What the report keeps of one side (seeds or generated questions): exact counts, positions and
    lengths, and the texts of bounded seeded samples."""

    count: int = 0
    positions: _Positions = field(default_factory=_Positions)
    question_chars: list[Ints] = field(default_factory=list)
    answer_chars: list[Ints] = field(default_factory=list)
    pair_texts: list[str] = field(default_factory=list)
    """Questions of the MAX_PAIRWISE sample, in row order."""
    big_rows: list[dict[str, Any]] = field(default_factory=list)
    """(question, seed_id) of the MAX_SAMPLE sample, in row order."""

    def add(self, rows: pa.Table, shard: pa.Table, pair: Ints, big: Ints, offset: int) -> None:
        """Count `rows` (this side's rows of `shard`); take the samples' rows from `shard` (its global
        rows start at `offset`; `pair` and `big` are sorted global row numbers)."""
        self.positions.add(rows["options"], rows["answer_index"])
        self.question_chars.append(_chars(rows["question"]))
        self.answer_chars.append(_chars(rows["answer_text"]))
        table = shard.select(["question", "seed_id"])
        self.pair_texts += _take(table, pair, offset)["question"].to_pylist()
        self.big_rows += _take(table, big, offset).to_pylist()

    def big_texts(self) -> list[str]:
        return [r["question"] or "" for r in self.big_rows]


def _task(t: TaskData) -> TaskReport:
    # Generated questions: the first packaged row of each (its variants repeat it), read shard by shard.
    firsts = _first_rows(t.packaged)
    n_questions = len(firsts)
    outputs = _Side(count=n_questions)
    pair_rows = firsts[metrics.sample_indices(n_questions, metrics.MAX_PAIRWISE)]
    big_rows = firsts[metrics.sample_indices(n_questions, metrics.MAX_SAMPLE)]
    shown = firsts[:SAMPLES_PER_TASK]
    sample_questions: list[dict[str, Any]] = []
    enrichment_chars: list[Ints] = []
    rows = 0
    for table in iter_columns(t.packaged, [*_QUESTION_COLUMNS, "id", "variant", "enrichment"]):
        outputs.add(_take(table, firsts, rows), table, pair_rows, big_rows, rows)
        sample_questions += _take(table, shown, rows).to_pylist()
        enrichment_chars.append(_chars(table["enrichment"]))
        rows += table.num_rows
    samples_ids = [q.get("question_id") for q in sample_questions]
    variants: dict[Any, list[dict[str, Any]]] = {i: [] for i in samples_ids}
    if samples_ids:
        for table in iter_columns(t.packaged, ["question_id", "variant", "enrichment"]):
            picked = table.filter(pc.is_in(table["question_id"], pa.array(samples_ids, pa.string())))
            for row in picked.to_pylist():
                variants[row["question_id"]].append(row)

    # Seeds, and the seed of each sampled output (for its similarity to its own seed).
    n_seeds = sum(num_rows(p) for p in t.seeds)
    seeds = _Side(count=n_seeds)
    seed_pair = metrics.sample_indices(n_seeds, metrics.MAX_PAIRWISE)
    seed_big = metrics.sample_indices(n_seeds, metrics.MAX_SAMPLE)
    wanted = {r["seed_id"] for r in outputs.big_rows} | {q.get("seed_id") for q in sample_questions}
    wanted_ids = pa.array(sorted(w for w in wanted if isinstance(w, str)), pa.string())
    seeds_by_id: dict[str, dict[str, Any]] = {}
    offset = 0
    for table in iter_columns(t.seeds, _SEED_COLUMNS):
        seeds.add(table, table, seed_pair, seed_big, offset)
        for row in table.filter(pc.is_in(table["seed_id"].cast(pa.string()), wanted_ids)).to_pylist():
            seeds_by_id[row["seed_id"]] = row
        offset += table.num_rows

    fmt = t.format or ("multiple_choice" if seeds.positions.rows else None)
    seed_q, out_q = seeds.big_texts(), outputs.big_texts()
    own = [seeds_by_id.get(r["seed_id"], {}).get("question") or "" for r in outputs.big_rows]
    to_own, to_nearest = metrics.similarity_to_seeds(out_q, own, seeds.pair_texts)
    diversity = Diversity(
        distinct={f"distinct-{n}": (metrics.distinct_n(seed_q, n), metrics.distinct_n(out_q, n)) for n in (1, 2, 3)},
        within_seeds=metrics.mean_pairwise_similarity(seeds.pair_texts),
        within_outputs=metrics.mean_pairwise_similarity(outputs.pair_texts),
        to_own_seed=to_own,
        to_nearest_seed=to_nearest,
    )
    kept = [_floats(table["agreement"]) for table in iter_columns(t.verified, ["agreement"])]
    return TaskReport(
        task=t.task,
        group=t.group,
        format=fmt,
        seeds=n_seeds,
        questions=n_questions,
        rows=rows,
        samples=_samples(sample_questions, variants, seeds_by_id),
        diversity=diversity,
        positions=_positions(seeds.positions, outputs.positions) if fmt == "multiple_choice" else None,
        lengths={
            "question": (
                metrics.length_summary(_concat(seeds.question_chars, np.int64)),
                metrics.length_summary(_concat(outputs.question_chars, np.int64)),
            ),
            "answer": (
                metrics.length_summary(_concat(seeds.answer_chars, np.int64)),
                metrics.length_summary(_concat(outputs.answer_chars, np.int64)),
            ),
            "enrichment": (None, metrics.length_summary(_concat(enrichment_chars, np.int64))),
        },
        yields={s: t.manifests[s].rows_out for s in YIELD_STAGES if s in t.manifests},
        rejections=_rejections(t),
        agreement_kept=_concat(kept, np.float64),
        agreement_rejected=_rejected_agreement(t),
        calls=[
            {
                "stage": s,
                "requests": m.requests,
                "cache_hits": m.cache_hits,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
            }
            for s, m in t.manifests.items()
            if m.requests
        ],
    )


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "question": row.get("question"),
        "options": list(row.get("options") or []),
        "answer_index": row.get("answer_index"),
        "answer_text": row.get("answer_text"),
        "context": row.get("context"),
    }


def _samples(
    questions: list[dict[str, Any]], variants: dict[Any, list[dict[str, Any]]], seeds: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "seed": _record(seeds[q["seed_id"]]) if q.get("seed_id") in seeds else None,
            "output": {
                **_record(q),
                "agreement": q.get("agreement"),
                "votes": q.get("votes"),
                "samples": q.get("samples"),
                "enrichments": {r.get("variant"): r.get("enrichment") for r in variants.get(q.get("question_id"), [])},
            },
        }
        for q in questions
    ]


def _positions(seeds: _Positions, outputs: _Positions) -> Positions | None:
    if not seeds.rows:
        return None
    n = seeds.rows.most_common(1)[0][0]
    seed_counts, out_counts = seeds.of(n), outputs.of(n)
    return Positions(n, seed_counts, out_counts, uniformity_p_value(seed_counts), uniformity_p_value(out_counts))


def _rejections(t: TaskData) -> list[dict[str, Any]]:
    out = []
    for stage, files in t.rejects.items():
        counts: dict[str, int] = {}  # reasons in the order they first appear
        examples: dict[str, dict[str, Any]] = {}
        for table in iter_columns(files, ["id", "reason", "detail"]):
            reason = pc.cast(table["reason"], pa.string()).fill_null("None")
            numbered = pa.table({"reason": reason, "row": pa.array(np.arange(table.num_rows, dtype=np.int64))})
            groups = numbered.group_by("reason", use_threads=False).aggregate([("row", "count"), ("row", "min")])
            groups = groups.sort_by("row_min")  # first-seen order: ties in count keep it
            for name, count, first in zip(
                groups["reason"].to_pylist(),
                groups["row_count"].to_pylist(),
                groups["row_min"].to_pylist(),
                strict=True,
            ):
                counts[name] = counts.get(name, 0) + count
                if name not in examples:
                    examples[name] = table.slice(first, 1).to_pylist()[0]
        for reason, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            example = examples[reason]
            out.append(
                {
                    "stage": stage,
                    "reason": reason,
                    "count": count,
                    "example_id": example.get("id"),
                    "example": (example.get("detail") or "")[:300],
                }
            )
    return out


def _rejected_agreement(t: TaskData) -> Floats:
    """Agreement of questions the vote rejected, read from the reject details ("k/n votes")."""
    parts = []
    for table in iter_columns(t.rejects.get("verify", []), ["detail"]):
        if pa.types.is_null(table["detail"].type):
            continue
        found = pc.extract_regex(table["detail"], _VOTES).combine_chunks()
        valid = found.is_valid()
        votes = pc.cast(pc.struct_field(found, "votes").filter(valid), pa.float64()).to_numpy()
        total = pc.cast(pc.struct_field(found, "total").filter(valid), pa.float64()).to_numpy()
        parts.append(votes[total > 0] / total[total > 0])
    return _concat(parts, np.float64)
