"""Shared by the seed tests and benchmarks/seeds: fixture locations and spec builders.

Imported as `seed_helpers` (pytest puts this folder on sys.path; the benchmark adds it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"
# lm-eval task → fixture family folder (tests/fixtures/seeds/<family>/{train,validation}.jsonl)
GOLDEN_TASKS = {
    "arc_easy": "arc",
    "arc_challenge": "arc",
    "piqa": "piqa",
    "commonsense_qa": "commonsense_qa",
    "winogrande": "winogrande",
    "hellaswag": "hellaswag",
    "sciq": "sciq",
    "openbookqa": "openbookqa",
    "social_iqa": "social_iqa",
    "boolq": "boolq",
    "gsm8k": "gsm8k",
    "triviaqa": "triviaqa",
    "logiqa": "logiqa",
    "medmcqa": "medmcqa",
    "nq_open": "nq_open",
    "swag": "swag",
}


def lm_eval_spec(task: str, **seed: Any) -> Any:
    from tsqa.seeds.catalog import load_catalog
    from tsqa.spec.models import TaskSpec

    info = load_catalog().get(task)
    fmt = "multiple_choice" if info is not None and info.output_type == "multiple_choice" else "short_answer"
    return TaskSpec.model_validate({"task": task, "seed": {"lm_eval": task, **seed}, "format": fmt})
