"""The blend file: per task its packaged shards, weight, rows and tokens, plus a Megatron-style
`data_path` list (weight, path) whose weights split each task's weight over its shards by tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.compile.plan import Plan
from tsqa.compile.stages import Stage
from tsqa.compile.tokens import BYTES_PER_TOKEN, TokenCounter, heuristic_count
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import FingerprintContext, Kind, StageDef
from tsqa.store.shards import read_shard

BLEND_FORMAT_VERSION = 1


class BlendStage(StageDef):
    """Written once per apply from every task's packaged dataset (the run's blend.json)."""

    stage = Stage.BLEND
    kind = Kind.SINK
    reads = Stage.PACKAGE
    in_yield = False

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {"weight": spec.blend.weight}


def count_tokens(counter: TokenCounter, texts: pa.ChunkedArray) -> int:
    """Tokens of a column of texts: the byte heuristic on the column's lengths (no Python string
    per row), a tokenizer on the texts."""
    if counter.count_text is heuristic_count:  # ceil(UTF-8 bytes / BYTES_PER_TOKEN) per text
        import pyarrow.compute as pc

        per_text = pc.divide(pc.add(pc.binary_length(texts), BYTES_PER_TOKEN - 1), BYTES_PER_TOKEN)
        return int(pc.sum(per_text, min_count=0).as_py())
    return counter.count_many(texts.to_pylist())


def build_blend(
    plan: Plan,
    dataset_dirs: dict[str, Path],
    run_root: Path,
    counters: dict[str, TokenCounter],
    packaged_now: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """`packaged_now`: tasks whose dataset this process has just written (only their texts are read)."""
    tasks: list[dict[str, Any]] = []
    for task in plan.tasks:
        shards = []
        # Every column is decoded, not just text: the packaged rows are the product, and a page that
        # no longer decodes is found (and repackaged) here on every apply; not when package has
        # just written them.
        columns = ["text"] if task.task in packaged_now else None
        for path in sorted(dataset_dirs[task.task].glob("part-*.parquet")):
            texts = read_shard(path, columns).column("text")
            shards.append(
                {
                    "path": str(path.relative_to(run_root)),
                    "rows": len(texts),
                    "tokens": count_tokens(counters[task.task], texts),
                }
            )
        tasks.append(
            {
                "task": task.task,
                "group": task.group,
                "weight": task.blend_weight,
                "rows": sum(s["rows"] for s in shards),
                "tokens": sum(s["tokens"] for s in shards),
                "token_counter": counters[task.task].method,
                "shards": shards,
            }
        )
    total_weight = sum(t["weight"] for t in tasks if t["tokens"]) or 1.0
    data_path: list[Any] = []
    for entry in tasks:
        for shard in entry["shards"]:
            if entry["tokens"] and shard["tokens"]:
                share = entry["weight"] / total_weight * shard["tokens"] / entry["tokens"]
                data_path += [round(share, 8), shard["path"]]
    return {
        "format": BLEND_FORMAT_VERSION,
        "project": plan.project,
        "plan_digest": plan.input_digest,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tasks": tasks,
        "megatron_data_path": data_path,
    }
