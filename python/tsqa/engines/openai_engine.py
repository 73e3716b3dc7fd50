"""OpenAI-compatible endpoint engine (`vllm serve`, NIM, SGLang …) over async HTTP (aiohttp).

Bounded concurrency: at most `max_concurrency` requests in flight; the next request is pulled from
the input only when a slot frees, and results are yielded as they complete. Each request is retried
with exponential backoff + jitter on 408/409/429/5xx, timeouts, dropped connections and malformed
responses (any body that does not decode as UTF-8 JSON into a complete completion); after `max_retries` it becomes a per-request error. Other 4xx fail the request at once
(a bad request does not get better by repeating it).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections import Counter
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp

from tsqa.engines.base import EngineError, Request, Result

RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass
class EngineStats:
    """Counters for manifests and tests."""

    requests: int = 0
    errors: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    """Retries by reason: "http 503", "timeout", "connection", "malformed"."""


class _Retriable(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.retry_after = reason, detail, retry_after


class _Fatal(Exception):
    pass


class OpenAIEngine:
    """Chat completions against `base_url` (e.g. http://host:8000/v1) for the served `model`."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 64,
        timeout_s: float = 600.0,
        max_retries: int = 6,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        ready_timeout_s: float = 10.0,
    ) -> None:
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ValueError(
                f"max_concurrency={max_concurrency!r} must be >= 1, max_retries={max_retries!r} >= 0, "
                f"timeout_s={timeout_s!r} > 0"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.ready_timeout_s = ready_timeout_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.stats = EngineStats()

    # -- sync surface (the Engine protocol) ------------------------------------------------------

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Drive `arun` on a private event loop, one result at a time (so memory stays flat)."""
        loop = asyncio.new_event_loop()
        agen = self.arun(requests)
        try:
            while True:
                try:
                    yield loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(agen.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def close(self) -> None:
        """Nothing held between runs: each run opens and closes its own connection pool."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- async core ------------------------------------------------------------------------------

    async def arun(self, requests: Iterable[Request]) -> AsyncGenerator[Result, None]:
        connector = aiohttp.TCPConnector(limit=self.max_concurrency)
        async with aiohttp.ClientSession(headers=self._headers, connector=connector) as session:
            await self.wait_ready(session)
            pending: set[asyncio.Task[Result]] = set()
            source = iter(requests)
            exhausted = False
            try:
                while True:
                    while not exhausted and len(pending) < self.max_concurrency:
                        request = next(source, None)
                        if request is None:
                            exhausted = True
                        else:
                            pending.add(asyncio.create_task(self._one(session, request)))
                    if not pending:
                        return
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        yield task.result()
            finally:
                for task in pending:  # consumer stopped early: don't leave requests running
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

    async def wait_ready(self, session: aiohttp.ClientSession) -> None:
        """Poll /models until it lists `model`, or raise EngineError after `ready_timeout_s`."""
        url = f"{self.base_url}/models"
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    body = await resp.text()
                    if resp.status == 200:
                        served = [m.get("id") for m in json.loads(body).get("data", [])]
                        if self.model in served:
                            return
                        problem = f"it serves {served}, not {self.model!r} (check the served model name)"
                    else:
                        problem = f"HTTP {resp.status}: {body[:200]}"
            except (TimeoutError, aiohttp.ClientError, ValueError, AttributeError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if time.monotonic() >= deadline:
                raise EngineError(
                    f"openai endpoint {self.base_url} is not ready after {self.ready_timeout_s:g} s "
                    f"(GET {url}): {problem}. Is the server running and the base_url right?"
                )
            await asyncio.sleep(min(1.0, max(0.05, self.ready_timeout_s / 10)))

    async def _one(self, session: aiohttp.ClientSession, request: Request) -> Result:
        self.stats.requests += 1
        try:
            return await self._attempts(session, request)
        except Exception as exc:  # an unforeseen failure still fails only this request
            self.stats.errors += 1
            return Result.failed(request.id, f"{type(exc).__name__}: {exc}")

    async def _attempts(self, session: aiohttp.ClientSession, request: Request) -> Result:
        body = self.payload(request)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._post(session, request, body, attempt)
            except _Fatal as exc:
                self.stats.errors += 1
                return Result.failed(request.id, str(exc), attempts=attempt)
            except _Retriable as exc:
                if attempt > self.max_retries:
                    self.stats.errors += 1
                    return Result.failed(
                        request.id, f"gave up after {attempt} attempts: {exc.detail}", attempts=attempt
                    )
                self.stats.retries[exc.reason] += 1
                await asyncio.sleep(self._backoff(attempt, exc.retry_after))

    def payload(self, request: Request) -> dict[str, Any]:
        """Only fields vLLM's server reads (it silently ignores unknown ones such as guided_json)."""
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "n": s.n,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
        }
        if s.top_k != -1:
            body["top_k"] = s.top_k
        if s.seed is not None:
            body["seed"] = s.seed
        if s.stop:
            body["stop"] = list(s.stop)
        if request.json_schema is not None:
            # Whitespace control is server-wide in vLLM (per-request disable_any_whitespace is
            # ignored by xgrammar): start it with --structured-outputs-config.disable_any_whitespace.
            body["structured_outputs"] = {"json": request.json_schema}
        return body

    async def _post(
        self, session: aiohttp.ClientSession, request: Request, body: dict[str, Any], attempt: int
    ) -> Result:
        url = f"{self.base_url}/chat/completions"
        try:
            async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                raw = await resp.read()  # bytes: decoding is part of parsing (and of its retry)
                if resp.status in RETRY_STATUSES:
                    raise _Retriable(
                        f"http {resp.status}", f"HTTP {resp.status}: {_shown(raw, 300)}", _retry_after(resp.headers)
                    )
                if resp.status != 200:
                    raise _Fatal(f"HTTP {resp.status}: {_shown(raw, 500)}")
        except TimeoutError as exc:
            raise _Retriable("timeout", f"no response within {self.timeout_s:g} s") from exc
        except aiohttp.ClientError as exc:  # refused, reset, server disconnected, bad payload
            raise _Retriable("connection", f"{type(exc).__name__}: {exc}") from exc
        try:
            return _parse(request, json.loads(raw.decode("utf-8")), attempt)
        except Exception as exc:  # any body we cannot read is malformed: retried like a 503
            raise _Retriable("malformed", f"malformed response ({type(exc).__name__}: {exc}): {raw[:200]!r}") from exc

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max_s)
        cap = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)  # jitter spreads retries of a burst apart


def _parse(request: Request, data: Any, attempt: int) -> Result:
    """The Result of a decoded body; raises on anything short of a complete, well-typed answer."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise TypeError("the body is not a chat completion (no list of choices)")
    choices = sorted(data["choices"], key=lambda c: c["index"])
    if [c["index"] for c in choices] != list(range(request.sampling.n)):
        raise ValueError(f"choice indices {[c['index'] for c in choices]} for n={request.sampling.n}")
    # A null or missing content (vLLM emits null when it ran out of tokens or failed to decode)
    # is no answer: taking it as "" would cache an empty success that no rerun could replace.
    texts = tuple(c["message"].get("content") for c in choices)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError(
            f"message content is not a string in choice(s) {[i for i, t in enumerate(texts) if not isinstance(t, str)]}"
        )
    usage = data.get("usage") or {}
    if not isinstance(usage, dict):
        raise TypeError("usage is not an object")
    return Result(
        id=request.id,
        texts=texts,
        finish_reasons=tuple(str(c.get("finish_reason")) for c in choices),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        attempts=attempt,
    )


def _shown(raw: bytes, limit: int) -> str:
    """An error body for a message: text when it decodes, never an exception when it does not."""
    return raw[:limit].decode("utf-8", errors="replace")


def _retry_after(headers: Any) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), if the server sent one."""
    value = headers.get("Retry-After")
    if not isinstance(value, str):
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
