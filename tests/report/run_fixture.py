"""A small, fully written run directory (what apply leaves behind) for report and export tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.stages.option_order import shuffle_options
from tsqa.stages.schema import rejects_table, to_table
from tsqa.store.manifest import Manifest, ShardInfo, write_manifest

TOPICS = ["river", "mountain", "planet", "engine", "forest", "market", "castle", "island", "bridge", "desert"]
VERBS = ["flows", "rises", "orbits", "burns", "grows", "opens", "stands", "floats", "spans", "dries"]


def _write(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-00000.parquet"
    pq.write_table(table, path)
    return path


def _manifest(
    root: Path, task: str, stage: str, fp: str, rows_in: int, data: Path | None, rejects: list[dict[str, Any]]
) -> None:
    folder = root / "tasks" / task / stage / fp
    if rejects:
        _write(folder / "rejects", rejects_table(rejects))
    shards = (
        []
        if data is None
        else [ShardInfo(file=str(data.relative_to(root)), rows=pq.ParquetFile(data).metadata.num_rows, sha256="0" * 64)]
    )
    reasons: dict[str, int] = {}
    for r in rejects:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    write_manifest(
        folder,
        Manifest(
            task=task,
            stage=stage,
            fingerprint=fp,
            plan_digest="d" * 64,
            rows_in=rows_in,
            rows_out=sum(s.rows for s in shards),
            shards=shards,
            rejections=reasons,
            requests=rows_in if stage in ("generate", "solve", "enrich") else 0,
            prompt_tokens=100 * rows_in if stage in ("generate", "solve", "enrich") else 0,
            completion_tokens=50 * rows_in if stage in ("generate", "solve", "enrich") else 0,
            completed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )


def _mc_task(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    topic, verb = TOPICS[i % 10], VERBS[(i * 3) % 10]
    seed = {
        "seed_id": f"mcq:{i}",
        "question": f"Which {topic} number {i} {verb} the most in the old story of the {TOPICS[(i + 3) % 10]}?",
        "options": [f"the {TOPICS[(i + k) % 10]} {k}" for k in range(1, 4)] + [f"the {topic} {i}"],
        "answer_index": 3,  # fixed slot, like sciq
        "answer_text": f"the {topic} {i}",
        "answer_aliases": None,
        "context": None,
        "raw": "{}",
    }
    options = [f"a {TOPICS[(i + k) % 10]} that {VERBS[(i + k) % 10]}" for k in range(4)]
    options, answer = shuffle_options(options, 0, key=f"mcq/{i}")  # the generator put it first
    question = {
        "question_id": f"mcq:{i}.0",
        "seed_id": f"mcq:{i}",
        "question": f"In the tale of the {VERBS[i % 10]} {topic}, what {TOPICS[(i * 7) % 10]} appears after day {i * 13}?",
        "options": options,
        "answer_index": answer,
        "answer_text": options[answer],
        "context": None,
        "winner": options[answer],
        "votes": 3 if i % 3 else 2,
        "total": 3,
        "agreement": 1.0 if i % 3 else 2 / 3,
    }
    return seed, question


def build_run(root: Path, *, mc_rows: int = 40, short_rows: int = 12) -> Path:
    """Two tasks: `mcq` (multiple choice, seeds with the answer always last) and `short` (numbers)."""
    pairs = [_mc_task(i) for i in range(mc_rows)]
    short = [
        (
            {
                "seed_id": f"short:{i}",
                "question": f"What is {i} plus {i + 2} apples in the basket?",
                "options": None,
                "answer_index": None,
                "answer_text": str(2 * i + 2),
                "answer_aliases": None,
                "context": None,
                "raw": "{}",
            },
            {
                "question_id": f"short:{i}.0",
                "seed_id": f"short:{i}",
                "question": f"A farmer has {i * 3} cows and buys {i} more. How many cows now?",
                "options": None,
                "answer_index": None,
                "answer_text": str(i * 4),
                "context": None,
                "winner": str(i * 4),
                "votes": 3,
                "total": 3,
                "agreement": 1.0,
            },
        )
        for i in range(short_rows)
    ]
    blend_tasks = []
    for task, group, fmt, rows, weight, license_ in (
        ("mcq", "knowledge", "multiple_choice", pairs, 1.0, "cc-by-4.0"),
        ("short", "reasoning", "short_answer", short, 2.0, "mit"),
    ):
        seeds = [s for s, _ in rows]
        verified = [q for _, q in rows]
        _manifest(
            root,
            task,
            "seeds",
            "f-seeds",
            len(seeds),
            _write(
                root / "tasks" / task / "seeds" / "f-seeds" / "data",
                pa.Table.from_pylist([{"doc": s["question"]} for s in seeds]),
            ),
            [],
        )
        norm = _write(root / "tasks" / task / "normalise" / "f-norm" / "data", to_table("normalise", seeds))
        _manifest(root, task, "normalise", "f-norm", len(seeds), norm, [])
        _manifest(root, task, "generate", "f-gen", len(seeds), None, [])
        parse_rejects = [
            {"id": f"{task}:0", "reason": "duplicate_options", "detail": "options must be ≥ 2 and distinct: ['x', 'x']"}
        ]
        parse = _write(root / "tasks" / task / "parse" / "f-parse" / "data", to_table("parse", verified))
        _manifest(root, task, "parse", "f-parse", len(verified) + 1, parse, parse_rejects)
        vote_rejects = [
            {"id": f"{task}:r{i}", "reason": "low_agreement", "detail": "winner 'x', 1/3 votes"} for i in range(3)
        ]
        vote_rejects.append({"id": f"{task}:m", "reason": "answer_mismatch", "detail": "winner 'y', 3/3 votes"})
        verify = _write(root / "tasks" / task / "verify" / "f-verify" / "data", to_table("verify", verified))
        _manifest(root, task, "verify", "f-verify", len(verified) + 4, verify, vote_rejects)
        packaged = []
        for q in verified:
            for variant in ("reasoning", "knowledge"):
                enrichment = f"Because the {q['question'].split()[3]} is described that way. The final answer is: {q['answer_text']}"
                packaged.append(
                    {
                        "id": f"{task}/{q['question_id']}/{variant}",
                        "task": task,
                        "group": group,
                        "format": fmt,
                        "variant": variant,
                        "seed_id": q["seed_id"],
                        "question_id": q["question_id"],
                        "question": q["question"],
                        "options": q["options"],
                        "answer_index": q["answer_index"],
                        "answer_text": q["answer_text"],
                        "context": None,
                        "enrichment": enrichment,
                        "agreement": q["agreement"],
                        "votes": q["votes"],
                        "samples": q["total"],
                        "text": f"Question: {q['question']}\n\n{enrichment}\n\nAnswer: {q['answer_text']}",
                        "license": license_,
                        "provenance": json.dumps({"task": task}),
                    }
                )
        dataset = _write(root / "datasets" / task, to_table("package", packaged))
        _manifest(root, task, "package", "f-pack", len(packaged), dataset, [])
        tokens = sum(len(r["text"].split()) for r in packaged)
        blend_tasks.append(
            {
                "task": task,
                "group": group,
                "weight": weight,
                "rows": len(packaged),
                "tokens": tokens,
                "token_counter": "whitespace",
                "shards": [{"path": f"datasets/{task}/part-00000.parquet", "rows": len(packaged), "tokens": tokens}],
            }
        )
    (root / "blend.json").write_text(
        json.dumps({"format": 1, "project": "fixture", "plan_digest": "d" * 64, "tasks": blend_tasks})
    )
    return root
