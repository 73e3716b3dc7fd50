"""Kill `tsqa apply` with SIGKILL at several points, resume, and compare with an uninterrupted
run: the same packaged rows, nothing duplicated, and no finished model call repeated."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from scripted_project import scripted_engine, write_project

from tsqa.apply.session import run_apply

RUNNER = Path(__file__).parent / "crash_runner.py"


def dataset(root: Path) -> list[dict[str, object]]:
    rows = [
        r
        for p in sorted((root / "run" / "datasets" / "colours").glob("part-*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    return sorted(rows, key=lambda r: str(r["id"]))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    root = tmp_path_factory.mktemp("reference")
    write_project(root)
    engine = scripted_engine()
    run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine)
    return dataset(root)


def run(root: Path, kill_at: int, sleep_s: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(RUNNER), str(root), str(kill_at), str(sleep_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kill_at", [2, 9, 15, 20])  # 23 calls: generate 1-6, solve 7-13, enrich 14-23
def test_kill_at_a_model_call_then_resume(tmp_path: Path, reference: list[dict[str, object]], kill_at: int) -> None:
    write_project(tmp_path)
    killed = run(tmp_path, kill_at)
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    finished = run(tmp_path, -1)
    _out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err[-2000:]
    assert dataset(tmp_path) == reference
    calls = (tmp_path / "calls.log").read_text().splitlines()
    # The call in flight when the process died ran again; besides it, only results handed to the
    # cache's writer and not yet committed may repeat: with commit_every=1 one waiting and one in
    # its transaction, i.e. the two calls before the killed one. Nothing older ran twice.
    assert calls.count(calls[kill_at - 1]) == 2
    repeated = {c for c in set(calls) if calls.count(c) > 1}
    assert repeated <= set(calls[max(0, kill_at - 3) : kill_at]), repeated
    assert all(calls.count(c) == 2 for c in repeated)


def test_kill_at_random_moments_then_resume(tmp_path: Path, reference: list[dict[str, object]]) -> None:
    """SIGKILL after a random number of new model calls plus a random delay, so kills land inside
    calls, between calls, and while shards, manifests and the cache are being written."""
    write_project(tmp_path)
    log = tmp_path / "calls.log"
    rng = random.Random(7)
    kills = 0
    for _ in range(60):
        seen = len(log.read_text().splitlines()) if log.exists() else 0
        target = seen + rng.randint(1, 6)
        proc = run(tmp_path, -1, sleep_s=0.05)
        while proc.poll() is None and (len(log.read_text().splitlines()) if log.exists() else 0) < target:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.1))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
    else:
        pytest.fail("apply never finished")
    assert kills >= 2, "the test must actually interrupt runs"
    assert dataset(tmp_path) == reference
    calls = log.read_text().splitlines()
    # At most the call in flight at each kill plus the results not yet committed (two with
    # commit_every=1: one waiting, one in its transaction).
    assert len(calls) - len(set(calls)) <= 3 * kills
