"""Content fingerprints of stages: what a stage reads, never how it is run.

A fingerprint hashes a canonical JSON of the stage's inputs (sorted keys, no whitespace), the
upstream stage's fingerprint and tsqa's data-format version. Comments, key order, concurrency,
timeouts and retry settings never enter, so reformatting a spec or tuning an endpoint re-runs
nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Bump when stage outputs change meaning (schema of shards, parser semantics …): every stage reruns.
DATA_FORMAT_VERSION = 1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def fingerprint(inputs: dict[str, Any], upstream: str | None) -> str:
    payload = canonical_json({"v": DATA_FORMAT_VERSION, "up": upstream, "in": inputs})
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def sha256_text(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON-serialisable in a fingerprint: {type(value).__name__}")
