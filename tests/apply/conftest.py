from __future__ import annotations

from pathlib import Path

import pytest
from scripted_project import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path)
    return tmp_path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vllm: runs the real vLLM CPU build on a tiny local model")


# vLLM/torch deprecations raised from their own code, ignored only for tests marked `vllm`.
_VLLM_WARNINGS = (
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("vllm"):
            for spec in _VLLM_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))
