"""`RequestKeys` (the cache key built from parts encoded once) is `request_key` of the same request,
byte for byte: an existing response cache stays valid, and no two requests share a key."""

from __future__ import annotations

import random

from tsqa.engines.base import ChatMessage, Request, Sampling
from tsqa.store.response_cache import RequestKeys, request_key

TEXTS = ["plain", 'quote " and \\ backslash', "naïve 日本 ✓", "line\nbreak\ttab", "\x00\x1f", "", '{"seed":null}']


def _reference(identity: dict[str, object], request: Request) -> str:
    return request_key(
        identity,
        [m.model_dump() for m in request.messages],
        request.sampling.model_dump(mode="json"),
        request.json_schema,
    )


def test_request_keys_equal_request_key() -> None:
    rng = random.Random(5)
    identity: dict[str, object] = {
        "engine": "vllm",
        "model": "m",
        "revision": "r",
        "nested": {"b": [1, 2.5, None], "a": "é"},
    }
    schemas = [None, {"type": "object", "properties": {"answer": {"enum": ["A", "B"]}}}, {"z": 1, "a": [True]}]
    keys = RequestKeys(identity)
    seen: dict[str, Request] = {}
    for i in range(500):
        sampling = Sampling(
            temperature=rng.choice([0.0, 0.7, 1.0, 1e-7]),
            top_p=rng.choice([1.0, 0.95]),
            top_k=rng.choice([-1, 40]),
            max_tokens=rng.choice([16, 256]),
            seed=rng.choice([None, 0, 7, 2**31 - 1]),
            stop=tuple(rng.sample(TEXTS, rng.randint(0, 2))),
            n=rng.choice([1, 5]),
        )
        messages = tuple(
            ChatMessage(role=rng.choice(["system", "user", "assistant"]), content=rng.choice(TEXTS) + str(i % 7))
            for _ in range(rng.randint(1, 3))
        )
        request = Request(id=f"t/s/{i}", messages=messages, sampling=sampling, json_schema=rng.choice(schemas))
        key = keys(request)
        assert key == _reference(identity, request)
        if key in seen:  # the same key only for the same content
            other = seen[key]
            assert (other.messages, other.sampling, other.json_schema) == (messages, sampling, request.json_schema)
        seen[key] = request
    assert len(seen) > 400


def test_each_schema_object_gets_its_own_text() -> None:
    """Schemas are encoded once per object; a new object with other content gets its own text."""
    keys = RequestKeys({"model": "m"})
    one = {"enum": ["A"]}
    request = Request(id="a", messages=(ChatMessage(role="user", content="q"),), json_schema=one)
    other = request.model_copy(update={"json_schema": {"enum": ["B"]}})
    assert keys(request) != keys(other)
    assert keys(other) == _reference({"model": "m"}, other)
