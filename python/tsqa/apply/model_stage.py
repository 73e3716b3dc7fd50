"""Run a model stage for every task of a wave: build each task's requests from the plan's resolved
call, feed all of them through one request stream into the model's engine (through the response
cache), and as each chunk's results complete turn them into rows and write the chunk.

A chunk is one resume point: its rejects shard is written first and its data shard last, so the
data shard marks the chunk complete; a resumed run skips written chunks and gets every finished
call of an unfinished one back from the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.apply.model_calls import COMMIT_EVERY, CallStats
from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import Engine, Request, Result
from tsqa.executors.stream import Shard, stream_shards
from tsqa.stages.base import ModelStageDef, TaskContext
from tsqa.store.response_cache import ResponseCache, request_key
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
    commit_every: int = COMMIT_EVERY,
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
        commit_every=commit_every,
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
    commit_every: int = COMMIT_EVERY,
) -> None:
    """Every task's model stage of a wave through one request stream into the model's engine.

    Chunk k of a task = requests [k·chunk_size, (k+1)·chunk_size) of its request sequence (one
    output shard, one resume point). Chunks of all tasks feed `stream_shards` one after another, so
    the engine stays full across chunk and task boundaries; each chunk is collected and written the
    moment its last result arrives, and `on_task_done` runs when a task's last chunk is written (its
    manifest goes next). Chunks already written are skipped, finished calls come from the cache.
    """
    if not items:
        return
    states = [_TaskState(item, progress, sdef.stage.value) for item in items]
    pending_commits: dict[str, dict[str, Any]] = {}
    keys: dict[str, tuple[int, str]] = {}  # request id → (task index, cache key)
    sources: dict[tuple[int, int], list[tuple[pa.Table, list[int]]]] = {}

    def chunks() -> Iterator[Shard]:
        for index, state in enumerate(states):
            if not state.remaining:  # nothing to call: complete as soon as we get here
                state.finish(sdef, on_task_done)
                continue
            for k, requests, source in _chunks(sdef, state):
                for request in requests:
                    keys[request.id] = (index, _key(state.item.call.identity, request))
                sources[(index, k)] = source
                yield Shard((index, k), requests)

    def lookup(shard: Shard) -> dict[str, Result]:
        index = _shard_key(shard)[0]
        hits = cache.get_many({keys[r.id][1] for r in shard.requests})
        found = {r.id: Result(id=r.id, **hits[keys[r.id][1]]) for r in shard.requests if keys[r.id][1] in hits}
        states[index].stats.cache_hits += len(found)
        advance = states[index].advance
        if found and advance is not None:
            advance(len(found))
        return found

    def commit(result: Result) -> None:
        index, key = keys[result.id]
        if result.ok:
            pending_commits[key] = result.model_dump(mode="json", exclude={"id", "attempts"})
        if len(pending_commits) >= commit_every:
            cache.put_many(pending_commits)
            pending_commits.clear()
        advance = states[index].advance
        if advance is not None:
            advance(1)

    try:
        for shard, results in stream_shards(engine(), chunks(), lookup=lookup, on_result=commit):
            index, k = _shard_key(shard)
            state = states[index]
            requests = shard.requests
            stats = state.stats
            stats.requests += len(requests)
            for result in results.values():
                stats.errors += not result.ok
                stats.prompt_tokens += result.prompt_tokens
                stats.completion_tokens += result.completion_tokens
            _stop_if_failing(state.item.call.model, requests, results)
            source = sources.pop((index, k))
            out = sdef.collect(state.item.task, pa.concat_tables([t.take(ix) for t, ix in source]), requests, results)
            folder = state.item.folder
            if out.rejects.num_rows:  # rejects first: the data shard is the chunk's completion marker
                write_shard(folder / "rejects", k, out.rejects)
            write_shard(folder / "data", k, out.kept)
            for request in requests:
                keys.pop(request.id, None)
            state.remaining.discard(k)
            if not state.remaining:
                state.finish(sdef, on_task_done)
    finally:
        cache.put_many(pending_commits)
    for state in states:  # tasks whose every chunk was already written, reached only now
        if not state.finished:
            state.finish(sdef, on_task_done)


class _TaskState:
    def __init__(self, item: StageTask, progress: Progress | None, stage: str) -> None:
        self.item = item
        size, per_row = item.call.chunk_size, item.call.requests_per_row
        self.total = item.total_rows * per_row
        self.done = set(existing_shards(item.folder / "data"))
        starts = range(0, self.total, size)
        self.remaining = {k for k in range(len(starts)) if k not in self.done}
        self.advance: Callable[[int], None] | None = (
            progress(
                f"{item.task.name} {stage}",
                self.total,
                sum(min(size, self.total - start) for i, start in enumerate(starts) if i in self.done),
            )
            if progress
            else None
        )
        self.stats = CallStats()
        self.finished = False

    def finish(self, sdef: ModelStageDef, on_task_done: Callable[[StageTask, ModelStageRun], None]) -> None:
        if self.finished:
            return
        self.finished = True
        if not self.total:
            assert sdef.schema is not None
            write_shard(self.item.folder / "data", 0, sdef.schema.empty_table())
        on_task_done(self.item, ModelStageRun(rows_in=self.total, requests=self.total, stats=self.stats))


def _chunks(
    sdef: ModelStageDef, state: _TaskState
) -> Iterator[tuple[int, list[Request], list[tuple[pa.Table, list[int]]]]]:
    """The task's chunks not yet written, in order: (k, requests, the input rows of each request).
    Input shards are streamed and requests built slice by slice, never for chunks already written."""
    item, done = state.item, state.done
    task, call = item.task, item.call
    size, per_row = call.chunk_size, call.requests_per_row
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


def _key(identity: dict[str, Any], request: Request) -> str:
    return request_key(
        identity,
        [m.model_dump() for m in request.messages],
        request.sampling.model_dump(mode="json"),
        request.json_schema,
    )


# Stop instead of recording a chunk of failures when most requests failed: the endpoint is likely
# down or misconfigured, and a resume after the fix retries them (failures are never cached).
_MAX_FAILED_SHARE = 0.5


def _stop_if_failing(model_name: str, chunk: list[Request], results: dict[str, Result]) -> None:
    failed = [results[r.id] for r in chunk if not results[r.id].ok]
    if failed and (len(failed) == len(chunk) or (len(chunk) >= 8 and len(failed) / len(chunk) > _MAX_FAILED_SHARE)):
        raise ModelStageError(
            f"model {model_name!r}: {len(failed)} of {len(chunk)} requests failed; first error: {failed[0].error}"
        )
