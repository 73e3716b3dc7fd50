"""ScriptedEngine: a deterministic test double that answers from a function or a table.

For pipeline-logic tests (parse, vote, verify, dedup …) where the exact model answers matter and
no model should run. Never used for real generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Self

from tsqa.engines.base import Request, Result

Reply = str | Sequence[str] | Result
"""A single text (repeated for each of the n samples), exactly n texts, or a full Result."""


class ScriptedEngine:
    """Answers each request with `script(request)` (a function) or `script[request.id]` (a table).

    A missing table entry, a wrong number of texts, or an exception raised by the function becomes
    that request's `Result.error`, exactly as a failing real request would. Every request seen is
    kept in `calls`, in order.
    """

    name = "scripted"

    def __init__(self, script: Callable[[Request], Reply] | Mapping[str, Reply]) -> None:
        self._script = script
        self.calls: list[Request] = []
        self.closed = False

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        for request in requests:
            self.calls.append(request)
            yield self._answer(request)

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
