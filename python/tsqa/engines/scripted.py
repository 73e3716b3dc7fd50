"""ScriptedEngine: a deterministic test double that answers from a function or a table.

For pipeline-logic tests (parse, vote, verify, dedup …) where the exact model answers matter and
no model should run. Never used for real generation. It also has a stream (`open_stream`) that
behaves like vLLM's loop: each `step` finishes up to `per_step` requests (default 1: a result is
handed back as soon as it is computed), shortest prompt first,
so results arrive out of input order as they would from a real engine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Self

from tsqa.engines.base import EngineStream, Request, Result

Reply = str | Sequence[str] | Result
"""A single text (repeated for each of the n samples), exactly n texts, or a full Result."""


class ScriptedEngine:
    """Answers each request with `script(request)` (a function) or `script[request.id]` (a table).

    A missing table entry, a wrong number of texts, or an exception raised by the function becomes
    that request's `Result.error`, exactly as a failing real request would. Every request seen is
    kept in `calls`, in order.
    """

    name = "scripted"

    def __init__(
        self,
        script: Callable[[Request], Reply] | Mapping[str, Reply],
        *,
        max_in_flight: int = 64,
        per_step: int = 1,
        step_seconds: float = 0.0,
    ) -> None:
        self._script = script
        self.calls: list[Request] = []
        self.answered: list[str] = []
        """Ids of the requests whose result was handed back (a call still in flight is in `calls` only)."""
        self.closed = False
        self.max_in_flight = max_in_flight
        self.per_step = per_step
        self.step_seconds = step_seconds
        """Sleep per stream step: a stand-in for generation time in load-balancing tests."""
        self.peak_in_flight = 0

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        for request in requests:
            self.calls.append(request)
            self.answered.append(request.id)
            yield self._answer(request)

    def open_stream(self) -> EngineStream:
        return _ScriptedStream(self)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _answer(self, request: Request) -> Result:
        try:
            if isinstance(self._script, Mapping):
                if request.id not in self._script:
                    return Result.failed(request.id, f"scripted engine has no answer for id {request.id!r}")
                reply = self._script[request.id]
            else:
                reply = self._script(request)
        except Exception as exc:  # a scripted failure is a per-request error, as in real engines
            return Result.failed(request.id, f"{type(exc).__name__}: {exc}")
        if isinstance(reply, Result):
            return reply if reply.id == request.id else reply.model_copy(update={"id": request.id})
        n = request.sampling.n
        texts = (reply,) * n if isinstance(reply, str) else tuple(reply)
        if len(texts) != n:
            return Result.failed(request.id, f"scripted reply has {len(texts)} texts, request asked for n={n}")
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        return Result(
            id=request.id,
            texts=texts,
            finish_reasons=("stop",) * n,
            prompt_tokens=prompt_tokens,
            completion_tokens=sum(len(t.split()) for t in texts),
        )


class _ScriptedStream:
    def __init__(self, engine: ScriptedEngine) -> None:
        self._engine = engine
        self._waiting: list[Request] = []

    @property
    def in_flight(self) -> int:
        return len(self._waiting)

    def add(self, requests: Sequence[Request]) -> list[Result]:
        self._engine.calls.extend(requests)
        self._waiting.extend(requests)
        self._engine.peak_in_flight = max(self._engine.peak_in_flight, len(self._waiting))
        return []

    def step(self) -> list[Result]:
        if self._engine.step_seconds:
            time.sleep(self._engine.step_seconds)
        # Shortest prompt first (stable): short generations finish first in a real engine too.
        ranked = sorted(range(len(self._waiting)), key=lambda i: sum(len(m.content) for m in self._waiting[i].messages))
        done = set(ranked[: self._engine.per_step])
        finished = [self._waiting[i] for i in sorted(done)]
        self._waiting = [r for i, r in enumerate(self._waiting) if i not in done]
        self._engine.answered.extend(r.id for r in finished)
        return [self._engine._answer(r) for r in finished]

    def close(self) -> None:
        self._waiting.clear()


def echo_engine(options: Mapping[str, float]) -> ScriptedEngine:
    """A scripted engine answering `echo:<request id>:<seed>` for every sample, built from plain
    options (`per_step`, `step_seconds`, `max_in_flight`): picklable, so a replica process can build
    it (replica tests without a model). `slow_core` and `slow_factor` make the replica pinned to that
    CPU core (`VLLM_CPU_OMP_THREADS_BIND`) step that many times slower: a loaded replica."""
    step_seconds = float(options.get("step_seconds", 0.0))
    if "slow_core" in options:
        bound = os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "").split(",")
        if str(int(options["slow_core"])) in bound:
            step_seconds *= float(options.get("slow_factor", 1.0))
    return ScriptedEngine(
        lambda r: f"echo:{r.id}:{r.sampling.seed}",
        max_in_flight=int(options.get("max_in_flight", 64)),
        per_step=int(options.get("per_step", 1)),
        step_seconds=step_seconds,
    )
