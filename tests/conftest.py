"""Suite-wide: the narrow warning filters the real vLLM needs, for tests marked `vllm` only.

vLLM (and the torch it pulls in) raise these deprecations from their own code, not ours; they are
ignored by exact message so pytest's warnings-as-errors still guards everything else.
"""

from __future__ import annotations

import gc
import warnings

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


@pytest.fixture(autouse=True)
def _earlier_garbage_collected(request: pytest.FixtureRequest) -> None:
    """Before a real-vLLM test, collect the garbage that earlier tests (and earlier in-process
    vLLM engines) left in reference cycles. A vLLM engine's close ends with a full collection
    (the model's memory must be free before the next wave loads one), which would otherwise
    finalize those leftovers inside this test and fail it with their unclosed-file warnings
    (CI, stop 16: four `FileIO` objects of no test of this file). Leftovers of its own still fail
    the test that leaves them."""
    if request.node.get_closest_marker("vllm") is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
