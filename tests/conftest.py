"""Suite-wide: the narrow warning filters the real vLLM needs, for tests marked `vllm` only.

vLLM (and the torch it pulls in) raise these deprecations from their own code, not ours; they are
ignored by exact message so pytest's warnings-as-errors still guards everything else.
"""

from __future__ import annotations

import pytest

VLLM_WARNINGS = (
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("vllm"):
            for spec in VLLM_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))
