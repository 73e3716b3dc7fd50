"""Shared fixtures: the installed lm-eval registry is read once per test session (~6 s)."""

from __future__ import annotations

import os
from typing import Any

import pytest

# The catalogue must never touch the network.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def task_manager() -> Any:
    from lm_eval.tasks import TaskManager

    return TaskManager()


@pytest.fixture(scope="session")
def training_configs(task_manager: Any) -> dict[str, dict[str, Any]]:
    """name → raw config of every leaf task that declares a training split, straight from lm-eval."""
    out = {}
    for name in task_manager.all_subtasks:
        cfg = task_manager.task_index[name].cfg or {}
        if cfg.get("training_split"):
            out[name] = cfg
    return out


@pytest.fixture(scope="session")
def installed_catalog(task_manager: Any) -> Any:
    from tsqa.seeds.catalog import build_catalog

    return build_catalog(task_manager)
