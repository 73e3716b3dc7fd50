"""Run a model stage for every task of a wave: build each task's requests from the plan's resolved
call, feed all of them through one request stream into the model's engine (executors/stream.py,
through the response cache), and as each chunk's results complete turn them into rows and write
the chunk.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.apply.model_calls import CallStats
from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import Engine, Request, Result
from tsqa.executors.stream import Shard, stream_shards
from tsqa.stages.base import ModelStageDef, TaskContext
from tsqa.store.atomic import write_json_atomic
from tsqa.store.integrity import shard_damage
from tsqa.store.response_cache import RequestKeys, ResponseCache, cached_value
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


@dataclass
class StageTask:
    """One task's part of a model stage's wave: where its rows come from and where they go."""

    task: TaskContext
    call: ModelCallPlan
    shards: Iterable[pa.Table]
    total_rows: int
    folder: Path


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
    """One task alone: a wave of one."""
    runs: list[ModelStageRun] = []
    run_model_wave(
        sdef,
        [StageTask(task, call, shards, total_rows, folder)],
        engine,
        cache,
        on_task_done=lambda _, run: runs.append(run),
        progress=progress,
        accept_failures=accept_failures,
    )
    return runs[0]


def run_model_wave(
    sdef: ModelStageDef,
    items: list[StageTask],
    engine: Callable[[], Engine],
    cache: ResponseCache,
    *,
    on_task_done: Callable[[StageTask, ModelStageRun], None],
    progress: Progress | None = None,
    accept_failures: bool = False,
) -> None:
    """Every task's model stage of a wave through one request stream into the model's engine.

    Chunk k of a task = requests [k·chunk_size, (k+1)·chunk_size) of its request sequence, run
    unless a written chunk with the same content exists. The chunks of all tasks feed
    `stream_shards` one after another, so the engine stays full across chunk and task boundaries;
    each chunk is collected and written the moment its last result arrives, and `on_task_done`
    runs once a task's last chunk is settled (its manifest goes next, or not, if calls failed).
    """
    if not items:
        return
    states = [_TaskState(item, progress, sdef.stage.value, row_per_request=sdef.row_per_request) for item in items]
    keyers = [RequestKeys(item.call.identity) for item in items]
    keys: dict[str, str] = {}  # request id → cache key
    owners: dict[str, int] = {}  # request id → task index
    pending: dict[tuple[int, int], tuple[dict[str, Any], list[tuple[pa.Table, list[int]]]]] = {}

    def chunks() -> Iterator[Shard]:
        for index, state in enumerate(states):
            for k, chunk, source in _chunks(sdef, state.item):
                state.last_chunk = k
                chunk_keys = [keyers[index](request) for request in chunk]
                record = _chunk_record(chunk, chunk_keys)
                if k in state.written and _is_written(state.item.folder, k, record):
                    if state.advance:
                        state.advance(len(chunk))  # done in an earlier run, with this very content
                    continue
                remove_chunk(state.item.folder, k)  # stale (other content) or never finished
                for request, key in zip(chunk, chunk_keys, strict=True):
                    keys[request.id] = key
                    owners[request.id] = index
                pending[(index, k)] = (record, source)
                state.outstanding += 1
                yield Shard((index, k), chunk)
            state.close(sdef)
            if not state.outstanding:
                state.finish(on_task_done)

    def lookup(shard: Shard) -> dict[str, Result]:
        state = states[_shard_key(shard)[0]]
        hits = cache.get_many({keys[r.id] for r in shard.requests})
        found = {r.id: Result(id=r.id, **hits[keys[r.id]]) for r in shard.requests if keys[r.id] in hits}
        state.stats.cache_hits += len(found)
        if found and state.advance:
            state.advance(len(found))
        return found

    def commit(result: Result) -> None:
        if result.ok:  # durable within one commit: a kill after this does not repeat it
            cache.put(keys[result.id], cached_value(result))
        advance = states[owners[result.id]].advance
        if advance is not None:
            advance(1)

    try:
        for shard, results in stream_shards(engine(), chunks(), lookup=lookup, on_result=commit):
            index, k = _shard_key(shard)
            state = states[index]
            record, source = pending.pop((index, k))
            state.settle(sdef, k, shard.requests, results, record, source, accept_failures)
            for request in shard.requests:
                keys.pop(request.id, None)
                owners.pop(request.id, None)
            if state.closed and not state.outstanding:
                state.finish(on_task_done)
    finally:
        cache.flush()
    for state in states:
        if not state.finished:  # every chunk already written: settled while enumerating
            state.finish(on_task_done)


class _TaskState:
    def __init__(self, item: StageTask, progress: Progress | None, stage: str, *, row_per_request: bool) -> None:
        self.item = item
        self.row_per_request = row_per_request  # else a row folds requests_per_row requests (solve)
        self.total = item.total_rows * item.call.requests_per_row
        self.written = existing_shards(item.folder / "data")
        self.advance: Callable[[int], None] | None = (
            progress(f"{item.task.name} {stage}", self.total, 0) if progress else None
        )
        self.stats = CallStats()
        self.failed = self.accepted = 0
        self.errors: list[str] = []
        self.outstanding = 0
        self.last_chunk = -1
        self.closed = self.finished = False

    def settle(
        self,
        sdef: ModelStageDef,
        k: int,
        chunk: list[Request],
        results: dict[str, Result],
        record: dict[str, Any],
        source: list[tuple[pa.Table, list[int]]],
        accept_failures: bool,
    ) -> None:
        """A chunk's results are all in: write it, or leave it for the next apply if calls failed."""
        self.outstanding -= 1
        stats = self.stats
        stats.requests += len(chunk)
        for result in results.values():
            stats.errors += not result.ok
            stats.prompt_tokens += result.prompt_tokens
            stats.completion_tokens += result.completion_tokens
        bad = [results[r.id] for r in chunk if not results[r.id].ok]
        self.errors.extend(str(r.error) for r in bad[: max(0, 3 - len(self.errors))])
        if bad and not accept_failures:
            _stop_if_failing(self.item.call.model, chunk, results)
            self.failed += len(bad)  # not a result: the chunk stays unwritten, the next apply retries
            return
        self.accepted += len(bad)
        folder = self.item.folder
        out = sdef.collect(self.item.task, pa.concat_tables([t.take(ix) for t, ix in source]), chunk, results)
        written_rows = {"rows": out.kept.num_rows, "rejects": out.rejects.num_rows}
        write_json_atomic(_record_path(folder, k), {**record, **written_rows})
        if out.rejects.num_rows:  # rejects before data: the data shard marks the chunk complete
            write_shard(folder / "rejects", k, out.rejects)
        write_shard(folder / "data", k, out.kept, sdef.shard_compression)

    def close(self, sdef: ModelStageDef) -> None:
        """Every chunk of the task enumerated: drop chunks a run with smaller chunks left behind."""
        self.closed = True
        for stale in [k for k in self.written if k > self.last_chunk]:
            remove_chunk(self.item.folder, stale)
        if not self.total:
            assert sdef.schema is not None
            write_shard(self.item.folder / "data", 0, sdef.schema.empty_table(), sdef.shard_compression)

    def finish(self, on_task_done: Callable[[StageTask, ModelStageRun], None]) -> None:
        if self.finished:
            return
        self.finished = True
        run = ModelStageRun(
            rows_in=self.total if self.row_per_request else self.item.total_rows,
            requests=self.total,
            stats=self.stats,
            failed=self.failed,
            accepted=self.accepted,
            errors=tuple(self.errors),
        )
        on_task_done(self.item, run)


def _chunks(
    sdef: ModelStageDef, item: StageTask
) -> Iterator[tuple[int, list[Request], list[tuple[pa.Table, list[int]]]]]:
    """The task's chunks in order: (k, requests, the input rows of each request), input shards
    streamed and requests built slice by slice (memory: about one chunk)."""
    task, call = item.task, item.call
    per_row = call.requests_per_row
    # Chunks hold whole rows: a stage may collect one row from several requests (solve's samples).
    size = max(per_row, call.chunk_size // per_row * per_row)
    chunk: list[Request] = []
    sources: list[tuple[pa.Table, list[int]]] = []
    chunk_index = -1
    position = 0  # index of the next request in the stage's request sequence
    rows_seen = 0
    slice_rows = max(1, size // per_row)  # requests are built for at most one chunk's rows at a time
    for shard in item.shards:
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
                    if chunk:
                        yield chunk_index, chunk, sources
                    chunk, sources, chunk_index = [], [], k
                chunk.append(request)
                if not sources or sources[-1][0] is not taken:
                    sources.append((taken, []))
                sources[-1][1].append(i)
            position += count
    if chunk:
        yield chunk_index, chunk, sources
    if rows_seen != item.total_rows:
        raise ModelStageError(
            f"task {task.name!r} {sdef.stage.value}: read {rows_seen} rows, expected {item.total_rows}"
        )


def _shard_key(shard: Shard) -> tuple[int, int]:
    """(task index in the wave, chunk index)."""
    key: tuple[int, int] = shard.key  # type: ignore[assignment]
    return key


def _chunk_record(chunk: list[Request], keys: list[str]) -> dict[str, Any]:
    """What a chunk covers: its request ids, and a hash of their cache keys (so a changed prompt,
    sampling or upstream row under the same id is a different chunk)."""
    digest = hashlib.sha256("".join(f"{r.id}\0{key}\n" for r, key in zip(chunk, keys, strict=True)).encode())
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
