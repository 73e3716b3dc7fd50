"""One request stream per model across every task of a wave, written back shard by shard.

A wave's model stage is many small pieces of work (most lm-eval training splits are hundreds to a
few thousand rows): each task's requests split into shards (one output file each). Sending each
shard as its own `generate` call drains the engine between calls; here every shard of every task
feeds one `stream()` into the model's engine (bounded in flight), and a shard is handed back the
moment its last result arrives, so the caller writes it then (resumable: a shard already written is
simply not submitted again, and finished calls come back from the response cache).

    for shard, results in stream_shards(engine, shards, lookup=cache_hits, on_result=commit):  # lookup(shard)
        write_shard(shard.key, results)

Order: requests are submitted sorted by their messages within a window of shards, so prompts
sharing a prefix (a task's template, the same question asked n ways) reach the engine together
and hit vLLM's prefix cache while it still holds those blocks. The window bounds memory and keeps
shards completing in roughly the order they came.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice

from tsqa.engines.base import Engine, Request, Result, stream

WINDOW_REQUESTS = 8192
"""Requests gathered (and prefix-sorted) before submission: a few scheduler batches of a big GPU."""


@dataclass
class Shard:
    """One output unit: its requests, and whatever the caller needs to write it (`key`)."""

    key: Hashable
    requests: list[Request]
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.requests)


def prefix_order(requests: Iterable[Request]) -> list[Request]:
    """Shared prefixes adjacent: by message contents (system prompt, then user text), then id."""
    return sorted(requests, key=lambda r: (tuple((m.role, m.content) for m in r.messages), r.id))


def stream_shards(
    engine: Engine,
    shards: Iterable[Shard],
    *,
    lookup: Callable[[Shard], Mapping[str, Result]] | None = None,
    on_result: Callable[[Result], None] | None = None,
    max_in_flight: int | None = None,
    window_requests: int = WINDOW_REQUESTS,
) -> Iterator[tuple[Shard, dict[str, Result]]]:
    """Every shard once, with a result for each of its requests (a failure is a `Result` with
    `error`; an engine that returns nothing for a request yields such a failure too, never a
    missing row). `lookup` answers requests without the engine (the response cache);
    `on_result` sees each engine result as it arrives (to commit it to the cache). One engine
    stream for all of it: windows are pulled as the engine takes requests, so it never drains."""
    owner: dict[str, Shard] = {}
    ready: deque[Shard] = deque()  # complete before any engine result (cache hits, empty shards)

    def submissions() -> Iterator[Request]:
        source = iter(shards)
        while window := _window(source, window_requests):
            pending: list[Request] = []
            for shard in window:
                if len({r.id for r in shard.requests}) != len(shard.requests):
                    raise ValueError(f"shard {shard.key!r} has duplicate request ids")
                known = lookup(shard) if lookup and shard.requests else {}
                for request in shard.requests:
                    if (hit := known.get(request.id)) is not None:
                        shard.results[request.id] = hit
                    elif request.id in owner:
                        raise ValueError(f"request id {request.id!r} is in two shards of one stream")
                    else:
                        owner[request.id] = shard
                        pending.append(request)
                if shard.complete:
                    ready.append(shard)
            yield from prefix_order(pending)

    for result in stream(engine, submissions(), max_in_flight=max_in_flight):
        while ready:
            done = ready.popleft()
            yield done, done.results
        shard = owner.pop(result.id, None)
        if shard is None:
            continue  # not ours (an engine must not invent ids; ignore rather than corrupt a shard)
        if on_result is not None:
            on_result(result)
        shard.results[result.id] = result
        if shard.complete:
            yield shard, shard.results
    while ready:
        done = ready.popleft()
        yield done, done.results
    for request_id, shard in list(owner.items()):  # the engine dropped these: failures, not lost rows
        shard.results[request_id] = Result.failed(request_id, "engine returned no result for this request")
        if shard.complete:
            yield shard, shard.results


def _window(source: Iterator[Shard], budget: int) -> list[Shard]:
    """Whole shards up to `budget` requests (at least one shard)."""
    window: list[Shard] = []
    size = 0
    for shard in source:
        window.append(shard)
        size += len(shard.requests)
        if size >= budget:
            break
    return window


def shards_of(key: Callable[[int], Hashable], requests: list[Request], size: int) -> list[Shard]:
    """A task stage's requests cut into shards of `size` (shard i keyed by `key(i)`)."""
    it = iter(requests)
    return [Shard(key(i), chunk) for i, chunk in enumerate(iter(lambda: list(islice(it, size)), []))]
