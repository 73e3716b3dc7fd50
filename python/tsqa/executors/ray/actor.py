"""One engine replica as a Ray actor: the ordinary single engine (vLLM in-process, or an OpenAI
endpoint client) built inside the actor, kept for the whole run.

Not Ray Data LLM's processor: that keeps only the first sample of each request, and votes need
all `n`. Batches arrive as concurrent actor calls (a threaded actor); for a streaming engine they
all feed one engine loop (`EngineLoop`), so the engine stays full across batches and calls, and
each call returns when its own batch is done.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tsqa.engines.base import Engine, EngineError, Request, Result, StreamingEngine


class EngineLoop:
    """A thread that owns the engine's stream: batches go in from any thread, each comes back as
    a future of its results. Request ids must be unique among the batches in flight (a retried
    batch only ever goes to a new actor process)."""

    def __init__(self, engine: StreamingEngine, max_in_flight: int | None = None) -> None:
        self._engine = engine
        self._bound = max_in_flight or engine.max_in_flight
        self._inbox: queue.Queue[tuple[int, list[Request]] | None] = queue.Queue()
        self._batches: dict[int, tuple[Future[list[Result]], dict[str, Result], int]] = {}
        self._owner: dict[str, int] = {}  # request id → batch number
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tsqa-engine-loop", daemon=True)
        self._thread.start()

    def submit(self, requests: list[Request]) -> Future[list[Result]]:
        future: Future[list[Result]] = Future()
        if self._error is not None:
            future.set_exception(EngineError(f"the engine loop stopped: {self._error}"))
            return future
        if not requests:
            future.set_result([])
            return future
        number = next(self._numbers)
        with self._lock:
            clash = next((r.id for r in requests if r.id in self._owner), None)
            if clash is None and len({r.id for r in requests}) == len(requests):
                self._batches[number] = (future, {}, len(requests))
                self._owner.update((r.id, number) for r in requests)
        if number not in self._batches:
            future.set_exception(EngineError(f"request id {clash!r} is already in flight (ids must be unique)"))
            return future
        self._inbox.put((number, list(requests)))
        return future

    def close(self) -> None:
        self._inbox.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        session = self._engine.open_stream()
        try:
            while True:
                while session.in_flight < self._bound:
                    try:
                        item = self._inbox.get(timeout=0.5) if session.in_flight == 0 else self._inbox.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        return
                    self._deliver(session.add(item[1]))
                if session.in_flight:
                    self._deliver(session.step())
        except BaseException as exc:  # noqa: BLE001 -- handed to every waiting batch's caller and raised there
            self._error = exc
            with self._lock:
                batches, self._batches, self._owner = self._batches, {}, {}
            for future, _, _ in batches.values():
                future.set_exception(EngineError(f"{type(exc).__name__}: {exc}"))
        finally:
            session.close()

    def _deliver(self, results: list[Result]) -> None:
        for result in results:
            with self._lock:
                number = self._owner.pop(result.id, -1)
                entry = self._batches.get(number)
                if entry is None:
                    continue
                future, done, size = entry
                done[result.id] = result
                finished = len(done) == size
                if finished:
                    del self._batches[number]
            if finished:
                future.set_result(list(done.values()))


class EngineActor:
    """The actor body (wrapped with `ray.remote` by the pool, so importing this needs no Ray)."""

    def __init__(
        self,
        config: Any,
        seed: int = 0,
        env: dict[str, str] | None = None,
        builder: Callable[[Any], Engine] | None = None,
    ) -> None:
        os.environ.update(env or {})
        # vLLM's engine core runs in this actor process, not in a subprocess of it: the actor is
        # already the replica's own process, and a core spawned under a Ray worker is outside Ray's
        # view (not killed with the actor, so a killed or restarted actor leaves an orphan holding
        # the model and its KV cache; nor counted in its resources). In-process, a dead actor is
        # all of the replica, which is what the pool's restart-and-retry assumes.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        if builder is None:
            from tsqa.engines.registry import create_single_engine

            self._engine: Engine = create_single_engine(config, seed=seed)
        else:  # tests: a scripted engine from plain options
            self._engine = builder(config)
        self._loop = EngineLoop(self._engine) if isinstance(self._engine, StreamingEngine) else None

    def ready(self) -> dict[str, Any]:
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def generate(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Results of one batch (any order), as plain dicts: cheap to ship back through the object store."""
        requests = [Request.model_validate(r) for r in batch]
        # An endpoint client (openai) has no stream: each call runs with its own bounded concurrency.
        results = self._loop.submit(requests).result() if self._loop is not None else list(self._engine.run(requests))
        return [r.model_dump(mode="json") for r in results]

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
        self._engine.close()
