"""Model calls of one stage: cached, chunked, resumable.

Requests are looked up in the response cache first; only misses reach the engine. Results are
committed to the cache in small batches as they arrive, so a killed apply loses at most one batch
of in-flight calls and never repeats a finished one. Failed requests are not cached: the next
apply retries them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tsqa.engines.base import Engine, Request, Result
from tsqa.store.response_cache import ResponseCache, request_key

# Results committed to the cache per transaction: a kill repeats at most this many finished calls.
COMMIT_EVERY = 64


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
    commit_every: int = COMMIT_EVERY,
) -> tuple[dict[str, Result], CallStats]:
    """Results by request id for every request (a failure is a Result with `error`)."""
    stats = CallStats(requests=len(requests))
    keys = {
        r.id: request_key(
            identity, [m.model_dump() for m in r.messages], r.sampling.model_dump(mode="json"), r.json_schema
        )
        for r in requests
    }
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
        pending: dict[str, dict[str, Any]] = {}
        for result in engine().run(misses):
            results[result.id] = result
            if result.ok:
                pending[keys[result.id]] = result.model_dump(mode="json", exclude={"id", "attempts"})
            if len(pending) >= commit_every:
                cache.put_many(pending)
                pending = {}
            if progress:
                progress(1)
        cache.put_many(pending)
    for request in requests:  # an engine that dropped a request must not lose the row
        results.setdefault(request.id, Result.failed(request.id, "engine returned no result for this request"))
    for result in results.values():
        stats.errors += not result.ok
        stats.prompt_tokens += result.prompt_tokens
        stats.completion_tokens += result.completion_tokens
    return results, stats
