"""Content fingerprints of stages: what a stage reads, never how it is run.

A fingerprint hashes a canonical JSON of the stage's inputs (sorted keys, no whitespace), the
upstream stage's fingerprint and tsqa's data-format version. Comments, key order, concurrency,
timeouts and retry settings never enter, so reformatting a spec or tuning an endpoint re-runs
nothing.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

# Bump when stage outputs change meaning (schema of shards, parser semantics …): every stage reruns.
DATA_FORMAT_VERSION = 1


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(value)


def fingerprint(inputs: dict[str, Any], upstream: str | None) -> str:
    payload = _payload(inputs, upstream)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _payload(inputs: dict[str, Any], upstream: str | None) -> str:
    """`canonical_json({"v": …, "up": upstream, "in": inputs})`. With a long list among the
    inputs (the dedup peers: one entry per task of the group, in every task's dedup fingerprint)
    it is built key by key, JSON text being compositional (a value encodes the same inside an
    object as alone), and a long list of strings is encoded once per plan, not once per task."""
    whole = {"v": DATA_FORMAT_VERSION, "up": upstream, "in": inputs}
    if not any(type(v) is list and len(v) >= _LONG for v in inputs.values()) or not all(type(k) is str for k in inputs):
        return canonical_json(whole)
    body = ",".join(f"{encode_basestring(k)}:{_value_json(inputs[k])}" for k in sorted(inputs))
    return f'{{"in":{{{body}}},"up":{canonical_json(upstream)},"v":{canonical_json(DATA_FORMAT_VERSION)}}}'


_LONG = 64


def _value_json(value: Any) -> str:
    if type(value) is list and len(value) >= _LONG and set(map(type, value)) == {str}:
        return _strings_json(tuple(value))
    return canonical_json(value)


@lru_cache(maxsize=64)
def _strings_json(values: tuple[str, ...]) -> str:
    return canonical_json(list(values))


def sha256_text(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON-serialisable in a fingerprint: {type(value).__name__}")


# json.dumps with these arguments builds a new encoder on every call; one is enough.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
