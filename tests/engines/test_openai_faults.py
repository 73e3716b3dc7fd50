"""The openai engine against a local fault-injecting OpenAI-compatible server.

The scenario of each request is its message text ("500x2", "hang1", …): the server keeps an
attempt count per scenario key and misbehaves on the first attempts, so the test can assert the
exact attempts, retries and outcome of every request.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tsqa.engines import EngineError, Request, Sampling
from tsqa.engines.openai_engine import OpenAIEngine

MODEL = "tiny"
HANG_S = 1.0
TIMEOUT_S = 0.25


@dataclass
class ServerState:
    attempts: Counter[str] = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    content = body["messages"][-1]["content"]
    n = body.get("n", 1)
    return {
        "id": "cmpl",
        "object": "chat.completion",
        # reversed on purpose: the engine must order samples by index
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": f"{content}#{i}"},
                "finish_reason": "stop",
            }
            for i in reversed(range(n))
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3 * n, "total_tokens": 7 + 3 * n},
    }


def _bad_bodies() -> dict[str, Any]:
    """Bodies of a 200 that are no usable completion: each must be retried like a 503."""

    def completion(body: dict[str, Any], **change: Any) -> bytes:
        data = _completion(body)
        for key, value in change.items():
            if key == "choice":
                for c in data["choices"]:
                    c.update(value)
            else:
                data[key] = value
        return json.dumps(data).encode()

    return {
        "nonutf8": lambda b: completion(b).replace(b'"assistant"', b'"assistant \xff\xfe"'),
        "latin1": lambda b: json.dumps(_completion(b)).encode().replace(b"#", "é".encode("latin-1")),
        "html": lambda b: b"<html><body>502 Bad Gateway</body></html>",
        "empty": lambda b: b"",
        "notobject": lambda b: b"[1, 2, 3]",
        "nochoices": lambda b: b'{"object": "error", "message": "overloaded"}',
        "choicesnull": lambda b: completion(b, choices=None),
        "nomessage": lambda b: completion(b, choice={"message": None}),
        "nocontent": lambda b: json.dumps(
            {"choices": [{"index": i, "message": {"role": "assistant"}} for i in range(b.get("n", 1))]}
        ).encode(),
        # vLLM sends content null (e.g. nothing decoded): no answer, never an empty success.
        "nullcontent": lambda b: completion(b, choice={"message": {"role": "assistant", "content": None}}),
        "onenull": lambda b: completion(
            b,
            choices=[
                {"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": None}, "finish_reason": "stop"},
            ],
        ),
        "intcontent": lambda b: completion(b, choice={"message": {"role": "assistant", "content": 7}}),
        "noindex": lambda b: json.dumps({"choices": [{"message": {"content": "x"}}] * b.get("n", 1)}).encode(),
        "dupindex": lambda b: completion(b, choice={"index": 0}),
        "fewer": lambda b: completion(b, choices=[]),
        "badusage": lambda b: completion(b, usage=[1]),
        "badtokens": lambda b: completion(b, usage={"prompt_tokens": "many"}),
        "alwaysnonutf8": lambda b: b'{"choices": "\xff"}',
    }


BAD_BODIES = _bad_bodies()
ALWAYS = {"always500", "alwaysbad", "bad400", "bad400bytes", "alwaysnonutf8"}


def make_app(state: ServerState) -> web.Application:
    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.bodies.append(body)
        key = body["messages"][-1]["content"]
        state.attempts[key] += 1
        attempt = state.attempts[key]
        scenario, _, times = re.fullmatch(r"([a-z0-9_]+?)(x(\d+))?(-.*)?", key).group(1, 2, 3)  # type: ignore[union-attr]
        bad_attempts = int(times) if times else 1
        failing = attempt <= bad_attempts
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await asyncio.sleep(0.01)  # let concurrent requests overlap
            if scenario == "ok" or (not failing and scenario not in ALWAYS):
                return web.json_response(_completion(body))
            if scenario in {"s500", "always500"}:
                return web.Response(status=500, text="internal error")
            if scenario == "s503":
                return web.Response(status=503, text="queue full")
            if scenario == "s429":
                return web.Response(status=429, text="slow down", headers={"Retry-After": "0"})
            if scenario == "hang":
                await asyncio.sleep(HANG_S)
                return web.json_response(_completion(body))
            if scenario == "drop":
                assert request.transport is not None
                request.transport.close()  # connection dropped mid-request, no response
                return web.Response(status=200)
            if scenario in {"malformed", "alwaysbad"}:
                return web.Response(status=200, text='{"choices": [', content_type="application/json")
            if scenario == "bad400":
                return web.Response(status=400, text='{"error": "max_tokens too large"}')
            if scenario == "bad400bytes":
                return web.Response(status=400, body=b"\xff\xfe bad \x80")
            if scenario in BAD_BODIES:
                return web.Response(status=200, body=BAD_BODIES[scenario](body), content_type="application/json")
            if scenario == "truncbody":  # promises more bytes than it sends, then hangs up
                resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
                resp.content_length = 4096
                await resp.prepare(request)
                await resp.write(b'{"choices": [')
                assert request.transport is not None
                request.transport.close()
                return resp
            raise AssertionError(f"unknown scenario {key!r}")
        finally:
            state.in_flight -= 1

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    """The fault server on 127.0.0.1 (a free port), in its own thread and event loop."""
    state = ServerState()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(state), shutdown_timeout=0.1)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/v1", state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def engine(base_url: str, **kw: Any) -> OpenAIEngine:
    options: dict[str, Any] = {
        "max_concurrency": 4,
        "timeout_s": TIMEOUT_S,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "ready_timeout_s": 2,
    }
    options.update(kw)
    return OpenAIEngine(base_url, MODEL, **options)


def req(key: str, n: int = 1, **kw: Any) -> Request:
    return Request(id=f"id-{key}", messages=[{"role": "user", "content": key}], sampling=Sampling(n=n, **kw))


def test_every_fault_ends_in_a_result_or_a_clear_error(server: tuple[str, ServerState]) -> None:
    base_url, state = server
    keys = ["ok", "s500x2", "s503", "s429", "hang", "drop", "malformed", "always500", "alwaysbad", "bad400"]
    eng = engine(base_url)
    results = list(eng.run(req(k, n=2) for k in keys))

    assert sorted(r.id for r in results) == sorted(f"id-{k}" for k in keys)  # nothing lost or duplicated
    by_key = {r.id.removeprefix("id-"): r for r in results}
    expected_attempts = {"ok": 1, "s500x2": 3, "s503": 2, "s429": 2, "hang": 2, "drop": 2, "malformed": 2}
    for key, attempts in expected_attempts.items():
        result = by_key[key]
        assert result.ok, (key, result.error)
        assert result.texts == (f"{key}#0", f"{key}#1")
        assert result.finish_reasons == ("stop", "stop")
        assert (result.prompt_tokens, result.completion_tokens) == (7, 6)
        assert result.attempts == attempts, key
        assert state.attempts[key] == attempts, key  # the server saw exactly those attempts

    # retriable faults give up after max_retries (3) + 1 attempts, with the cause in the message
    assert by_key["always500"].error == "gave up after 4 attempts: HTTP 500: internal error"
    assert by_key["always500"].attempts == 4 == state.attempts["always500"]
    assert by_key["alwaysbad"].error is not None and by_key["alwaysbad"].error.startswith(
        "gave up after 4 attempts: malformed response"
    )
    # a 400 is the request's fault: no retry
    assert by_key["bad400"].error == 'HTTP 400: {"error": "max_tokens too large"}'
    assert by_key["bad400"].attempts == 1 == state.attempts["bad400"]

    assert eng.stats.requests == len(keys)
    assert eng.stats.errors == 3
    assert eng.stats.retries == Counter(
        {"http 500": 2 + 3, "http 503": 1, "http 429": 1, "timeout": 1, "connection": 1, "malformed": 1 + 3}
    )


def test_payload_carries_sampling_and_structured_outputs_only(server: tuple[str, ServerState]) -> None:
    base_url, state = server
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}}
    request = Request(
        id="r",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "ok"}],
        sampling=Sampling(n=3, temperature=0.7, top_p=0.9, top_k=20, max_tokens=33, seed=11, stop=("\n",)),
        json_schema=schema,
    )
    [result] = engine(base_url).run([request])
    assert result.texts == ("ok#0", "ok#1", "ok#2")
    assert state.bodies == [
        {
            "model": MODEL,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "ok"}],
            "n": 3,
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 20,
            "max_tokens": 33,
            "seed": 11,
            "stop": ["\n"],
            "structured_outputs": {"json": schema},
        }
    ]
    # defaults: no top_k / seed / stop sent, so the server's own defaults apply
    list(engine(base_url).run([Request(id="d", messages=[{"role": "user", "content": "ok-2"}])]))
    assert set(state.bodies[-1]) == {"model", "messages", "n", "temperature", "top_p", "max_tokens"}


def test_concurrency_is_bounded_and_input_pulled_lazily(server: tuple[str, ServerState]) -> None:
    base_url, state = server
    pulled = 0

    def requests() -> Iterator[Request]:
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield req(f"ok-{i}")

    seen = []
    for result in engine(base_url, max_concurrency=3).run(requests()):
        # Never more than max_concurrency in flight, plus the result being handed to us now (its
        # slot may already hold the next request). The server-side bound is asserted below.
        assert pulled - len(seen) <= 3 + 1
        seen.append(result.id)
    assert sorted(seen) == sorted(f"id-ok-{i}" for i in range(40))
    assert state.max_in_flight <= 3


def test_stopping_early_cancels_the_rest(server: tuple[str, ServerState]) -> None:
    base_url, _ = server
    results = engine(base_url, max_concurrency=2).run(req(f"ok-{i}") for i in range(10))
    first = next(results)
    results.close()  # the consumer stops: pending requests are cancelled, nothing leaks
    assert first.ok


def test_dead_endpoint_fails_before_any_work() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = engine(f"http://127.0.0.1:{port}/v1", ready_timeout_s=0.2)
    with pytest.raises(
        EngineError, match=rf"openai endpoint http://127.0.0.1:{port}/v1 is not ready after 0.2 s"
    ) as exc:
        list(eng.run([req("ok")]))
    assert "ClientConnectorError" in str(exc.value)
    assert "Is the server running" in str(exc.value)


def test_wrong_served_model_name_is_named(server: tuple[str, ServerState]) -> None:
    base_url, state = server
    eng = OpenAIEngine(base_url, "llama-70b", ready_timeout_s=0.1)
    with pytest.raises(EngineError, match=r"it serves \['tiny'\], not 'llama-70b'"):
        list(eng.run([req("ok")]))
    assert not state.bodies  # no completion was attempted


def test_retry_after_header_parsing() -> None:
    from tsqa.engines.openai_engine import _retry_after

    assert _retry_after({"Retry-After": "3"}) == 3.0
    assert _retry_after({}) is None
    assert _retry_after({"Retry-After": "not a date"}) is None
    assert _retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrency=0"):
        OpenAIEngine("http://x/v1", MODEL, max_concurrency=0)


def test_json_roundtrip_of_results_for_manifests(server: tuple[str, ServerState]) -> None:
    base_url, _ = server
    [result] = engine(base_url).run([req("ok")])
    assert json.loads(result.model_dump_json())["texts"] == ["ok#0"]


def test_unserialisable_request_fails_alone(server: tuple[str, ServerState]) -> None:
    base_url, _ = server
    odd = Request(id="odd", messages=[{"role": "user", "content": "ok"}], json_schema={"const": {1, 2}})
    results = {r.id: r for r in engine(base_url).run([odd, req("ok")])}
    assert results["odd"].error is not None and results["odd"].error.startswith("TypeError:")
    assert results["id-ok"].ok


@pytest.mark.parametrize("key", [*sorted(set(BAD_BODIES) - ALWAYS), "truncbody"])
def test_every_unreadable_body_is_retried(server: tuple[str, ServerState], key: str) -> None:
    """Decode and parse errors of a 200 (non-UTF-8, not JSON, missing or mistyped fields, a body
    cut short) are retried like any other malformed response, and the retry then succeeds."""
    base_url, state = server
    eng = engine(base_url)
    [result] = eng.run([req(key, n=2)])
    assert result.ok, result.error
    assert result.texts == (f"{key}#0", f"{key}#1")
    assert result.attempts == 2 == state.attempts[key]
    assert eng.stats.errors == 0
    assert sum(eng.stats.retries.values()) == 1
    assert set(eng.stats.retries) <= {"malformed", "connection"}


def test_a_body_that_never_decodes_gives_up_with_the_cause(server: tuple[str, ServerState]) -> None:
    base_url, state = server
    [result] = engine(base_url).run([req("alwaysnonutf8")])
    assert result.error is not None
    assert result.error.startswith("gave up after 4 attempts: malformed response (UnicodeDecodeError")
    assert state.attempts["alwaysnonutf8"] == 4


def test_an_undecodable_error_body_is_still_a_clear_error(server: tuple[str, ServerState]) -> None:
    base_url, _ = server
    [result] = engine(base_url).run([req("bad400bytes")])
    assert result.error is not None and result.error.startswith("HTTP 400: \ufffd\ufffd bad")
    assert result.attempts == 1
