"""Shared by the Ray executor tests (and run as a driver subprocess): the scripted project of
tests/apply with `executor: {kind: ray}`, its engine built inside the engine actors.

    python ray_apply.py ROOT ADDRESS STEP_SECONDS      # one `tsqa apply` as its own driver
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

import scripted_project
from scripted_project import scripted_engine, write_project

from tsqa.apply.session import ApplyResult, run_apply
from tsqa.engines.base import Engine


def write_ray_project(root: Path, address: str | None) -> None:
    """The scripted project; on Ray when `address` is given (nothing else in tsqa.yaml changes)."""
    write_project(root)
    if address is not None:
        with (root / "tsqa.yaml").open("a") as f:
            f.write(f'executor: {{kind: ray, address: "{address}"}}\n')


def build_engine(options: dict[str, Any]) -> Engine:
    """Runs inside each engine actor (shipped by value: the workers cannot import tests/)."""
    engine = scripted_engine()
    engine.step_seconds = float(options.get("step_seconds", 0.0))
    engine.max_in_flight = 4
    return engine


def ship_by_value() -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(scripted_project)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def apply(root: Path, step_seconds: float = 0.0) -> ApplyResult:
    ship_by_value()
    return run_apply(
        [root / "specs"],
        project_file=root / "tsqa.yaml",
        engine_factory=lambda config: build_engine({"step_seconds": step_seconds}),
        commit_every=1,
    )


if __name__ == "__main__":
    root, address, step = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    from tsqa.executors.ray import connect

    connect(address)
    apply(root, step)
    print("applied")
