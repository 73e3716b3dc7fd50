"""Shared fixtures: the installed lm-eval registry is read once per test session (~6 s)."""

from __future__ import annotations

import os
from pathlib import Path
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


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"
# lm-eval task → fixture family folder (tests/fixtures/seeds/<family>/{train,validation}.jsonl)
GOLDEN_TASKS = {
    "arc_easy": "arc", "arc_challenge": "arc", "piqa": "piqa", "commonsense_qa": "commonsense_qa",
    "winogrande": "winogrande", "hellaswag": "hellaswag", "sciq": "sciq", "openbookqa": "openbookqa",
    "social_iqa": "social_iqa", "boolq": "boolq", "gsm8k": "gsm8k", "triviaqa": "triviaqa",
    "logiqa": "logiqa", "medmcqa": "medmcqa", "nq_open": "nq_open", "swag": "swag",
}


def lm_eval_spec(task: str, **seed: Any) -> Any:
    from tsqa.seeds.catalog import load_catalog
    from tsqa.spec.models import TaskSpec

    info = load_catalog().get(task)
    fmt = "multiple_choice" if info is not None and info.output_type == "multiple_choice" else "short_answer"
    return TaskSpec.model_validate({"task": task, "seed": {"lm_eval": task, **seed}, "format": fmt})
