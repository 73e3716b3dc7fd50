"""Run one model stage of one task: build its requests from the plan's resolved call, then chunk
by chunk call the model (through the response cache), turn results into rows, and write the chunk.

A chunk is one resume point, keyed by its content, not its position: `chunks/part-K.json` records
the request ids it covers and a hash of their cache keys (model, rendered prompt, sampling), and
its data shard is written last. A resumed run reuses a chunk only when that record matches the
chunk it would build now, so a changed `chunk_size` (or changed upstream rows) redoes exactly the
chunks that differ, with every finished call served from the cache.

Failures are not results: a chunk with a request that still failed after the engine's retries is
not written, so its stage stays incomplete and the next apply retries exactly the failed requests
(the others come from the cache). With `accept_failures` the chunk is written and the failures
become rejects (reason engine_error), on purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.apply.model_calls import CallStats, call_model
from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import Engine, Request, Result
from tsqa.stages.base import ModelStageDef, TaskContext
from tsqa.store.atomic import write_json_atomic
from tsqa.store.integrity import shard_damage
from tsqa.store.response_cache import ResponseCache, request_key
from tsqa.store.shards import existing_shards, shard_name, write_shard

Progress = Callable[[str, int, int], Callable[[int], None]]
"""progress(label, total, already_done) → advance(n)."""

CHUNKS = "chunks"
"""The stage subfolder of chunk records (what each data shard covers)."""


class ModelStageError(Exception):
    """The model stage cannot go on (the endpoint is failing); a resume retries."""


@dataclass(frozen=True)
class ModelStageRun:
    rows_in: int
    """Rows in, counted as requests (one row out per request)."""
    requests: int
    stats: CallStats
    failed: int = 0
    """Requests that failed after retries and were left for the next apply (their chunks unwritten)."""
    accepted: int = 0
    """Failed requests recorded as engine_error rejects on purpose (accept_failures)."""
    errors: tuple[str, ...] = ()
    """The first few failure messages."""

    @property
    def complete(self) -> bool:
        return self.failed == 0


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
    accept_failures: bool = False,
) -> ModelStageRun:
    """Stream the input shards, build requests slice by slice, and run chunk k = requests
    [k·chunk_size, (k+1)·chunk_size) of the stage's request sequence unless a written chunk
    with the same content exists."""
    per_row = call.requests_per_row
    # Chunks hold whole rows: a stage may collect one row from several requests (solve's samples).
    size = max(per_row, call.chunk_size // per_row * per_row)
    total = total_rows * per_row
    written = existing_shards(folder / "data")
    advance = progress(f"{task.name} {sdef.stage.value}", total, 0) if progress else None
    stats = CallStats()
    failed = accepted = 0
    errors: list[str] = []
    chunk: list[Request] = []
    sources: list[tuple[pa.Table, list[int]]] = []  # the chunk's input rows: (slice, row of each request)
    chunk_index = -1

    def flush() -> None:
        nonlocal failed, accepted
        if not chunk:
            return
        record = _chunk_record(call.identity, chunk)
        if chunk_index in written and _is_written(folder, chunk_index, record):
            if advance:
                advance(len(chunk))  # done in an earlier run, with this very content
        else:
            remove_chunk(folder, chunk_index)  # stale (other content) or never finished
            results, chunk_stats = call_model(engine, cache, call.identity, chunk, progress=advance)
            stats.add(chunk_stats)
            bad = [results[r.id] for r in chunk if not results[r.id].ok]
            errors.extend(str(r.error) for r in bad[: max(0, 3 - len(errors))])
            if bad and not accept_failures:
                _stop_if_failing(call.model, chunk, results)
                failed += len(bad)  # not a result: the chunk stays unwritten, the next apply retries
            else:
                accepted += len(bad)
                out = sdef.collect(task, pa.concat_tables([t.take(ix) for t, ix in sources]), chunk, results)
                written_rows = {"rows": out.kept.num_rows, "rejects": out.rejects.num_rows}
                write_json_atomic(_record_path(folder, chunk_index), {**record, **written_rows})
                if out.rejects.num_rows:  # rejects before data: the data shard marks the chunk complete
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
            requests, source = sdef.requests(task, call, rows)
            if len(requests) != count:
                raise ModelStageError(
                    f"task {task.name!r} {sdef.stage.value}: built {len(requests)} requests for {rows.num_rows} "
                    f"rows; the plan says {per_row} per row (internal error; please report it)"
                )
            taken = rows.take(source)
            for i, request in enumerate(requests):
                k = (position + i) // size
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
    for stale in [k for k in written if k > chunk_index]:  # left by a run with smaller chunks
        remove_chunk(folder, stale)
    if not total:
        assert sdef.schema is not None
        write_shard(folder / "data", 0, sdef.schema.empty_table())
    return ModelStageRun(
        rows_in=total if sdef.row_per_request else total_rows,
        requests=total,
        stats=stats,
        failed=failed,
        accepted=accepted,
        errors=tuple(errors),
    )


def _chunk_record(identity: dict[str, Any], chunk: list[Request]) -> dict[str, Any]:
    """What a chunk covers: its request ids, and a hash of their cache keys (so a changed prompt,
    sampling or upstream row under the same id is a different chunk)."""
    digest = hashlib.sha256()
    for r in chunk:
        key = request_key(
            identity, [m.model_dump() for m in r.messages], r.sampling.model_dump(mode="json"), r.json_schema
        )
        digest.update(f"{r.id}\0{key}\n".encode())
    ids = hashlib.sha256("\n".join(r.id for r in chunk).encode()).hexdigest()
    return {
        "requests": len(chunk),
        "first": chunk[0].id,
        "last": chunk[-1].id,
        "ids": ids,
        "content": digest.hexdigest(),
    }


def _record_path(folder: Path, index: int) -> Path:
    return folder / CHUNKS / shard_name(index).replace(".parquet", ".json")


def _is_written(folder: Path, index: int, record: dict[str, Any]) -> bool:
    """Chunk `index` on disk covers exactly `record`'s requests and its data shard is intact."""
    try:
        stored = json.loads(_record_path(folder, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # missing or torn: the chunk is redone (its calls come from the cache)
    if not isinstance(stored, dict) or {k: v for k, v in stored.items() if k not in {"rows", "rejects"}} != record:
        return False
    rows, rejects = stored.get("rows"), stored.get("rejects")
    if not (isinstance(rows, int) and isinstance(rejects, int)):
        return False
    if rejects and shard_damage(folder / "rejects" / shard_name(index), rejects) is not None:
        return False
    return shard_damage(folder / "data" / shard_name(index), rows) is None


def remove_chunk(folder: Path, index: int) -> None:
    """Forget chunk `index` of a model stage: data first (the completion marker), then its rejects and record."""
    for path in (
        folder / "data" / shard_name(index),
        folder / "rejects" / shard_name(index),
        _record_path(folder, index),
    ):
        path.unlink(missing_ok=True)


# Stop instead of recording a chunk of failures when most requests failed: the endpoint is likely
# down or misconfigured, and a resume after the fix retries them (failures are never cached).
_MAX_FAILED_SHARE = 0.5


def _stop_if_failing(model_name: str, chunk: list[Request], results: dict[str, Result]) -> None:
    failed = [results[r.id] for r in chunk if not results[r.id].ok]
    if failed and (len(failed) == len(chunk) or (len(chunk) >= 8 and len(failed) / len(chunk) > _MAX_FAILED_SHARE)):
        raise ModelStageError(
            f"model {model_name!r}: {len(failed)} of {len(chunk)} requests failed; first error: {failed[0].error}"
        )
