"""Compute the report's numbers from a run's data (pure; `read_run` does the reading)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsqa.report import metrics
from tsqa.report.run_data import RunData, TaskData, read_run
from tsqa.stages.option_order import position_counts, uniformity_p_value

SAMPLES_PER_TASK = 3
AGREEMENT_EDGES = [i / 10 for i in range(11)]
YIELD_STAGES = ("seeds", "normalise", "generate", "parse", "verify", "enrich", "dedup", "decontaminate", "package")
_VOTES = re.compile(r"(\d+)/(\d+) votes")


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
    agreement_kept: list[float]
    agreement_rejected: list[float]
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


def _distinct_questions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per generated question (packaged rows repeat it once per enrichment variant)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row.get("question_id") or row.get("id") or str(len(seen)), row)
    return list(seen.values())


def _task(t: TaskData) -> TaskReport:
    fmt = t.format or ("multiple_choice" if any(s.get("options") for s in t.seeds) else None)
    questions = _distinct_questions(t.packaged)
    seeds_by_id = {s["seed_id"]: s for s in t.seeds}
    seed_q = [s["question"] for s in t.seeds]
    out_q = [q["question"] for q in questions]
    own = [seeds_by_id.get(q.get("seed_id"), {}).get("question") or "" for q in questions]
    to_own, to_nearest = metrics.similarity_to_seeds(out_q, own, seed_q)
    diversity = Diversity(
        distinct={f"distinct-{n}": (metrics.distinct_n(seed_q, n), metrics.distinct_n(out_q, n)) for n in (1, 2, 3)},
        within_seeds=metrics.mean_pairwise_similarity(seed_q),
        within_outputs=metrics.mean_pairwise_similarity(out_q),
        to_own_seed=to_own,
        to_nearest_seed=to_nearest,
    )
    return TaskReport(
        task=t.task,
        group=t.group,
        format=fmt,
        seeds=len(t.seeds),
        questions=len(questions),
        rows=len(t.packaged),
        samples=_samples(questions, t.packaged, seeds_by_id),
        diversity=diversity,
        positions=_positions(t.seeds, questions) if fmt == "multiple_choice" else None,
        lengths=_lengths(t.seeds, questions, t.packaged),
        yields={s: t.manifests[s].rows_out for s in YIELD_STAGES if s in t.manifests},
        rejections=_rejections(t),
        agreement_kept=[float(v["agreement"]) for v in t.verified if v.get("agreement") is not None],
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
    questions: list[dict[str, Any]], packaged: list[dict[str, Any]], seeds: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for q in questions[:SAMPLES_PER_TASK]:
        variants = [r for r in packaged if r.get("question_id") == q.get("question_id")]
        out.append(
            {
                "seed": _record(seeds[q["seed_id"]]) if q.get("seed_id") in seeds else None,
                "output": {
                    **_record(q),
                    "agreement": q.get("agreement"),
                    "votes": q.get("votes"),
                    "samples": q.get("samples"),
                    "enrichments": {r.get("variant"): r.get("enrichment") for r in variants},
                },
            }
        )
    return out


def _positions(seeds: list[dict[str, Any]], questions: list[dict[str, Any]]) -> Positions | None:
    lengths = Counter(len(s["options"]) for s in seeds if s.get("options"))
    if not lengths:
        return None
    n = lengths.most_common(1)[0][0]
    seed_counts = position_counts([s.get("answer_index") for s in seeds if len(s.get("options") or []) == n], n)
    out_counts = position_counts([q.get("answer_index") for q in questions if len(q.get("options") or []) == n], n)
    return Positions(n, seed_counts, out_counts, uniformity_p_value(seed_counts), uniformity_p_value(out_counts))


def _lengths(
    seeds: list[dict[str, Any]], questions: list[dict[str, Any]], packaged: list[dict[str, Any]]
) -> dict[str, tuple[dict[str, float] | None, dict[str, float] | None]]:
    def chars(rows: list[dict[str, Any]], key: str) -> list[int]:
        return [len(r[key]) for r in rows if r.get(key)]

    return {
        "question": (
            metrics.length_summary(chars(seeds, "question")),
            metrics.length_summary(chars(questions, "question")),
        ),
        "answer": (
            metrics.length_summary(chars(seeds, "answer_text")),
            metrics.length_summary(chars(questions, "answer_text")),
        ),
        "enrichment": (None, metrics.length_summary(chars(packaged, "enrichment"))),
    }


def _rejections(t: TaskData) -> list[dict[str, Any]]:
    out = []
    for stage, rows in t.rejects.items():
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_reason.setdefault(str(row.get("reason")), []).append(row)
        for reason, group in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            example = group[0]
            out.append(
                {
                    "stage": stage,
                    "reason": reason,
                    "count": len(group),
                    "example_id": example.get("id"),
                    "example": (example.get("detail") or "")[:300],
                }
            )
    return out


def _rejected_agreement(t: TaskData) -> list[float]:
    """Agreement of questions the vote rejected, read from the reject details ("k/n votes")."""
    out = []
    for row in t.rejects.get("verify", []):
        match = _VOTES.search(row.get("detail") or "")
        if match and int(match.group(2)):
            out.append(int(match.group(1)) / int(match.group(2)))
    return out
