"""Run one model stage of one task: build its requests from the plan's resolved call, then chunk
by chunk call the model (through the response cache), turn results into rows, and write the chunk.

A chunk is one resume point: its rejects shard is written first and its data shard last, so the
data shard marks the chunk complete; a resumed run skips written chunks and gets every finished
call of an unfinished one back from the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    shards: Iterable[pa.Table],
    total_rows: int,
    folder: Path,
    engine: Callable[[], Engine],
    cache: ResponseCache,
    *,
    progress: Progress | None = None,
    commit_every: int = COMMIT_EVERY,
) -> ModelStageRun:
    """Stream the input shards, build requests slice by slice (never for chunks already written),
    and run chunk k = requests [k·chunk_size, (k+1)·chunk_size) of the stage's request sequence."""
    size, per_row = call.chunk_size, call.requests_per_row
    total = total_rows * per_row
    done = set(existing_shards(folder / "data"))
    starts = range(0, total, size)
    advance = (
        progress(
            f"{task.name} {sdef.stage.value}",
            total,
            sum(min(size, total - start) for i, start in enumerate(starts) if i in done),
        )
        if progress
        else None
    )
    stats = CallStats()
    chunk: list[Request] = []
    sources: list[tuple[pa.Table, list[int]]] = []  # the chunk's input rows: (slice, row of each request)
    chunk_index = -1

    def flush() -> None:
        if not chunk:
            return
        results, chunk_stats = call_model(
            engine, cache, call.identity, chunk, progress=advance, commit_every=commit_every
        )
        stats.add(chunk_stats)
        _stop_if_failing(call.model, chunk, results)
        out = sdef.collect(task, pa.concat_tables([t.take(ix) for t, ix in sources]), chunk, results)
        if out.rejects.num_rows:  # rejects first: the data shard is the chunk's completion marker
            write_shard(folder / "rejects", chunk_index, out.rejects)
        write_shard(folder / "data", chunk_index, out.kept)
        chunk.clear()
        sources.clear()

    position = 0  # index of the next request in the stage's request sequence
    rows_seen = 0
    slice_rows = max(1, size // per_row)  # requests are built for at most one chunk's rows at a time
    for shard in shards:
        for offset in range(0, shard.num_rows, slice_rows):
            rows = shard.slice(offset, slice_rows)
            rows_seen += rows.num_rows
            count = rows.num_rows * per_row
            first, last = position // size, (position + count - 1) // size
            if all(k in done for k in range(first, last + 1)):
                position += count
                continue
            requests, source = sdef.requests(task, call, rows)
            if len(requests) != count:
                raise ModelStageError(
                    f"task {task.name!r} {sdef.stage.value}: built {len(requests)} requests for {rows.num_rows} "
                    f"rows; the plan says {per_row} per row (internal error; please report it)"
                )
            taken = rows.take(source)
            for i, request in enumerate(requests):
                k = (position + i) // size
                if k in done:
                    continue
                if k != chunk_index:
                    flush()
                    chunk_index = k
                chunk.append(request)
                if not sources or sources[-1][0] is not taken:
                    sources.append((taken, []))
                sources[-1][1].append(i)
            position += count
    flush()
    if rows_seen != total_rows:
        raise ModelStageError(f"task {task.name!r} {sdef.stage.value}: read {rows_seen} rows, expected {total_rows}")
    if not total:
        assert sdef.schema is not None
        write_shard(folder / "data", 0, sdef.schema.empty_table())
    return ModelStageRun(rows_in=total, requests=total, stats=stats)


# Stop instead of recording a chunk of failures when most requests failed: the endpoint is likely
# down or misconfigured, and a resume after the fix retries them (failures are never cached).
_MAX_FAILED_SHARE = 0.5


def _stop_if_failing(model_name: str, chunk: list[Request], results: dict[str, Result]) -> None:
    failed = [results[r.id] for r in chunk if not results[r.id].ok]
    if failed and (len(failed) == len(chunk) or (len(chunk) >= 8 and len(failed) / len(chunk) > _MAX_FAILED_SHARE)):
        raise ModelStageError(
            f"model {model_name!r}: {len(failed)} of {len(chunk)} requests failed; first error: {failed[0].error}"
        )
