"""Run one model stage of one task: build its requests from the plan's resolved call, then chunk
by chunk call the model (through the response cache), turn results into rows, and write the chunk.

A chunk is one resume point: its rejects shard is written first and its data shard last, so the
data shard marks the chunk complete; a resumed run skips written chunks and gets every finished
call of an unfinished one back from the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tsqa.apply.model_calls import COMMIT_EVERY, CallStats, call_model
from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import Engine, Request, Result
from tsqa.stages.base import ModelStageDef, TaskContext
from tsqa.store.response_cache import ResponseCache
from tsqa.store.shards import existing_shards, write_shard

Progress = Callable[[str, int, int], Callable[[int], None]]
"""progress(label, total, already_done) → advance(n)."""


class ModelStageError(Exception):
    """The model stage cannot go on (the endpoint is failing); a resume retries."""


@dataclass(frozen=True)
class ModelStageRun:
    rows_in: int
    """Rows in, counted as requests (one row out per request)."""
    requests: int
    stats: CallStats


def run_model_stage(
    sdef: ModelStageDef,
    task: TaskContext,
    call: ModelCallPlan,
    rows: pa.Table,
    folder: Path,
    engine: Callable[[], Engine],
    cache: ResponseCache,
    *,
    progress: Progress | None = None,
    commit_every: int = COMMIT_EVERY,
) -> ModelStageRun:
    requests, sources = sdef.requests(task, call, rows)
    if len(requests) != rows.num_rows * call.requests_per_row:
        raise ModelStageError(
            f"task {task.name!r} {sdef.stage.value}: built {len(requests)} requests for {rows.num_rows} rows, "
            f"the plan says {call.requests_per_row} per row (internal error; please report it)"
        )
    done = existing_shards(folder / "data")
    size = call.chunk_size
    starts = range(0, len(requests), size)
    advance = (
        progress(
            f"{task.name} {sdef.stage.value}",
            len(requests),
            sum(min(size, len(requests) - start) for i, start in enumerate(starts) if i in done),
        )
        if progress
        else None
    )
    stats = CallStats()
    for index, start in enumerate(starts):
        if index in done:
            continue
        chunk = requests[start : start + size]
        results, chunk_stats = call_model(
            engine, cache, call.identity, chunk, progress=advance, commit_every=commit_every
        )
        stats.add(chunk_stats)
        _stop_if_failing(call.model, chunk, results)
        out = sdef.collect(task, rows.take(sources[start : start + size]), chunk, results)
        if out.rejects.num_rows:
            # Rejects first: the data shard is the chunk's completion marker.
            write_shard(folder / "rejects", index, out.rejects)
        write_shard(folder / "data", index, out.kept)
    if not requests:
        assert sdef.schema is not None
        write_shard(folder / "data", 0, sdef.schema.empty_table())
    return ModelStageRun(rows_in=len(requests), requests=len(requests), stats=stats)


# Stop instead of recording a chunk of failures when most requests failed: the endpoint is likely
# down or misconfigured, and a resume after the fix retries them (failures are never cached).
_MAX_FAILED_SHARE = 0.5


def _stop_if_failing(model_name: str, chunk: list[Request], results: dict[str, Result]) -> None:
    failed = [results[r.id] for r in chunk if not results[r.id].ok]
    if failed and (len(failed) == len(chunk) or (len(chunk) >= 8 and len(failed) / len(chunk) > _MAX_FAILED_SHARE)):
        raise ModelStageError(
            f"model {model_name!r}: {len(failed)} of {len(chunk)} requests failed; first error: {failed[0].error}"
        )
