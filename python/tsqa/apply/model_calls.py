"""Model calls of one stage: cached, chunked, resumable.

Requests are looked up in the response cache first; only misses reach the engine. Each result is
handed to the cache the moment it arrives and committed by its writer within about one commit
(at most `COMMIT_EVERY` waiting), so a killed apply repeats only the calls in flight, not a batch
of finished ones. Failed requests are not cached: the next apply retries them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tsqa.engines.base import Engine, Request, Result
from tsqa.store.response_cache import MAX_BATCH, RequestKeys, ResponseCache, cached_value

COMMIT_EVERY = MAX_BATCH
"""Finished calls that may wait for the cache writer at once (ResponseCache's max_batch)."""


@dataclass
class CallStats:
    requests: int = 0
    cache_hits: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    keys: dict[str, str] = field(default_factory=dict)

    def add(self, other: CallStats) -> None:
        self.requests += other.requests
        self.cache_hits += other.cache_hits
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


def call_model(
    engine: Callable[[], Engine],
    cache: ResponseCache,
    identity: dict[str, Any],
    requests: Sequence[Request],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Result], CallStats]:
    """Results by request id for every request (a failure is a Result with `error`)."""
    stats = CallStats(requests=len(requests))
    key = RequestKeys(identity)
    keys = {r.id: key(r) for r in requests}
    stats.keys = keys
    cached = cache.get_many(set(keys.values()))
    results: dict[str, Result] = {}
    misses = []
    for request in requests:
        hit = cached.get(keys[request.id])
        if hit is not None:
            results[request.id] = Result(id=request.id, **hit)
            stats.cache_hits += 1
        else:
            misses.append(request)
    if progress and stats.cache_hits:
        progress(stats.cache_hits)
    if misses:
        for result in engine().run(misses):
            results[result.id] = result
            if result.ok:  # durable within one commit: a kill after this does not repeat it
                cache.put(keys[result.id], cached_value(result))
            if progress:
                progress(1)
        cache.flush()
    for request in requests:  # an engine that dropped a request must not lose the row
        results.setdefault(request.id, Result.failed(request.id, "engine returned no result for this request"))
    for result in results.values():
        stats.errors += not result.ok
        stats.prompt_tokens += result.prompt_tokens
        stats.completion_tokens += result.completion_tokens
    return results, stats
