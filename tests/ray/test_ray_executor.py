"""`executor: {kind: ray}` on a real local two-node cluster: the same packaged rows as the local
executor, through an engine actor killed mid-stage and a driver killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ray_apply import apply, write_ray_project

from conftest import actor_pids
from tsqa.store.manifest import read_manifest

# Ray Data warns about its own deprecated settings from inside DataContext; nothing of ours.
pytestmark = [
    pytest.mark.ray,
    pytest.mark.timeout(900),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
]


def dataset(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "run" / "datasets" / "colours").glob("part-*.parquet"))
    rows = [r for p in files for r in pq.read_table(p).to_pylist()]
    for r in rows:
        r.pop("provenance")  # names the plan digest: the project file differs by its executor line
    return sorted(rows, key=lambda r: str(r["id"]))


def fingerprints(root: Path) -> dict[str, str]:
    stages = root / "run" / "tasks" / "colours"
    return {p.parent.parent.name: read_manifest(p.parent).fingerprint for p in stages.glob("*/*/manifest.json")}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local")
    write_ray_project(root, None)
    apply(root)
    return root


def test_ray_executor_packages_the_rows_of_the_local_executor(
    ray_connected: Any, local_reference: Path, tmp_path: Path
) -> None:
    write_ray_project(tmp_path, ray_connected.address)
    result = apply(tmp_path)
    assert dataset(tmp_path) == dataset(local_reference) and dataset(tmp_path)
    assert fingerprints(tmp_path) == fingerprints(local_reference)  # executor-independent
    assert result.manifests["colours"]["package"].rows_out == 5


def test_an_engine_actor_killed_mid_stage_changes_nothing(
    ray_connected: Any, local_reference: Path, tmp_path: Path
) -> None:
    write_ray_project(tmp_path, ray_connected.address)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if pids := actor_pids(ray_connected, "EngineActor"):
                time.sleep(1.5)  # let it take work first: then it dies holding batches
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one)
    killer.start()
    apply(tmp_path, step_seconds=0.2)
    killer.join()
    assert killed, "no engine actor was killed"
    assert dataset(tmp_path) == dataset(local_reference)


def test_a_killed_driver_is_finished_by_applying_again(
    ray_connected: Any, local_reference: Path, tmp_path: Path
) -> None:
    write_ray_project(tmp_path, ray_connected.address)
    runner = [sys.executable, str(Path(__file__).parent / "ray_apply.py"), str(tmp_path), ray_connected.address]
    driver = subprocess.Popen([*runner, "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shards = tmp_path / "run" / "tasks" / "colours"
    deadline = time.monotonic() + 300
    while driver.poll() is None and time.monotonic() < deadline:
        if any(shards.glob("generate/*/data/part-*.parquet")):  # mid-run: some model output written
            break
        time.sleep(0.2)
    assert driver.poll() is None, driver.communicate()[1][-2000:]
    driver.send_signal(signal.SIGKILL)
    driver.communicate(timeout=60)  # reaps it and closes its pipes
    assert driver.returncode == -signal.SIGKILL
    again = subprocess.run([*runner, "0"], capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0 and "applied" in again.stdout, again.stderr[-3000:]
    assert dataset(tmp_path) == dataset(local_reference)
