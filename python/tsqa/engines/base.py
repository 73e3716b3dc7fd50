"""The engine interface: typed requests and results, and the `Engine` protocol.

Every engine takes an iterable of `Request`s and yields one `Result` per request, matched by `id`
(order is engine-specific: vllm keeps input order, openai yields as requests complete). A request
that fails carries its error in `Result.error`; one bad request never fails the batch. Errors that
make the whole engine unusable (vllm missing, dead endpoint, bad model dir) raise `EngineError`.

Engines that own a continuous batching loop (vllm, the scripted double, replicas) also offer
`open_stream()`: an `EngineStream` that takes requests at any time and hands back results as they
finish, so work from many tasks keeps one engine full instead of draining it between `run` calls.
`stream(engine, requests)` drives either kind with a bounded number of requests in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class EngineError(Exception):
    """The engine cannot work at all; the message says what to do (shown without a traceback)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatMessage(_Frozen):
    role: Literal["system", "user", "assistant"]
    content: str


class Sampling(_Frozen):
    """Per-request sampling; the fields both vLLM and OpenAI-compatible servers understand."""

    temperature: Annotated[float, Field(ge=0.0)] = 1.0
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    top_k: Annotated[int, Field(ge=-1)] = -1
    """-1 disables top-k."""
    max_tokens: Annotated[int, Field(ge=1)] = 256
    """Always explicit: vLLM's own default (16) silently truncates."""
    seed: int | None = None
    """Seed of this request (sample i of n uses seed + i in vLLM); see `derive_seed`."""
    stop: tuple[str, ...] = ()
    n: Annotated[int, Field(ge=1)] = 1
    """Independent samples of the same prompt (votes); they share its prefill."""


class Request(_Frozen):
    id: Annotated[str, Field(min_length=1)]
    messages: Annotated[tuple[ChatMessage, ...], Field(min_length=1)]
    sampling: Sampling = Sampling()
    json_schema: dict[str, Any] | None = None
    """When set, every sample is constrained to JSON valid against this schema."""


FinishReason = Literal["stop", "length", "abort", "error"]


class Result(_Frozen):
    id: str
    texts: tuple[str, ...] = ()
    """n samples, in sample order; empty when `error` is set."""
    finish_reasons: tuple[str, ...] = ()
    """Per sample: "stop", "length" (truncated at max_tokens) or what the server said."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    """Summed over the n samples."""
    error: str | None = None
    attempts: int = 1
    """HTTP attempts it took (openai); 1 for in-process engines."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, request_id: str, error: str, attempts: int = 1) -> Result:
        return cls(id=request_id, error=error, attempts=attempts)


@runtime_checkable
class Engine(Protocol):
    """What stages see. `run` pulls requests lazily, so memory stays bounded by the engine's
    chunk size or concurrency, not by the input size."""

    name: str

    def run(self, requests: Iterable[Request]) -> Iterator[Result]: ...

    def close(self) -> None: ...


class EngineStream(Protocol):
    """One continuous request stream into a running engine (vLLM's add_request/step loop).

    `add` never blocks on generation; `step` advances the engine and returns the results that
    finished (in completion order, possibly none). A request `add` cannot accept (bad template,
    too long) comes back from `add` itself as a failed `Result`, so every added request yields
    exactly one result, from `add` or from a later `step`.
    """

    def add(self, requests: Sequence[Request]) -> list[Result]: ...

    def step(self) -> list[Result]: ...

    @property
    def in_flight(self) -> int: ...

    def close(self) -> None:
        """Abort what is still in flight; the engine can open a new stream afterwards."""


def _end_of_input(session: EngineStream) -> None:
    """Tell a stream that nothing more will be added, if it cares (replicas then steal each other's
    queued work so the last results are not held by the slowest one); optional, so other streams
    need not implement it."""
    hook = getattr(session, "end_of_input", None)
    if hook is not None:
        hook()


@runtime_checkable
class StreamingEngine(Engine, Protocol):
    """An engine with its own batching loop; `max_in_flight` is what keeps that loop full."""

    max_in_flight: int

    def open_stream(self) -> EngineStream: ...


def stream(engine: Engine, requests: Iterable[Request], *, max_in_flight: int | None = None) -> Iterator[Result]:
    """Results in completion order, pulling `requests` lazily so at most `max_in_flight` requests
    (default: the engine's own bound) are inside the engine: memory stays bounded by that, never by
    the input, and the engine never drains while input remains. Engines without a stream (openai:
    its `run` already completes out of order under bounded concurrency) are driven by `run`."""
    if not isinstance(engine, StreamingEngine):
        yield from engine.run(requests)
        return
    bound = max_in_flight or engine.max_in_flight
    if bound < 1:
        raise ValueError(f"max_in_flight={bound!r} must be >= 1")
    session = engine.open_stream()
    source = iter(requests)
    exhausted = False
    try:
        while True:
            if not exhausted and session.in_flight < bound:
                batch = list(islice(source, bound - session.in_flight))
                exhausted = not batch
                if batch:
                    yield from session.add(batch)
                else:
                    _end_of_input(session)
            if session.in_flight:
                yield from session.step()
            elif exhausted:
                return
    finally:  # also when the consumer stops early: nothing is left running inside the engine
        session.close()


def derive_seed(base_seed: int, request_id: str) -> int:
    """A stable per-request seed (same base and id → same seed in every process and run)."""
    digest = hashlib.blake2b(f"{base_seed}:{request_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF
