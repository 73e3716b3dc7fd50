"""Engine actors on a real local two-node Ray cluster."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tsqa.engines import Request, Sampling
from tsqa.engines.base import Result, stream
from tsqa.engines.scripted import echo_engine
from tsqa.executors.ray import RayEngine

pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]


def requests(n: int, samples: int = 3) -> list[Request]:
    return [
        Request(
            id=f"task{i % 5}/solve/q{i}",
            messages=[{"role": "user", "content": f"solve {i}"}],
            sampling=Sampling(n=samples, max_tokens=16, seed=i),
        )
        for i in range(n)
    ]


def test_actors_on_both_nodes_return_every_sample_once(ray_connected: Any) -> None:
    options = {"per_step": 4, "step_seconds": 0.005}
    with RayEngine(options, replicas=2, cpus_per_replica=0.5, builder=echo_engine, batch_size=8) as engine:
        assert len(set(engine.nodes)) == 2  # one replica per node: the cluster is really two nodes
        results = list(stream(engine, requests(200)))
        assert sorted(r.id for r in results) == sorted(r.id for r in requests(200))
        assert all(len(r.texts) == 3 and r.texts[0] == f"echo:{r.id}:{r.id.split('/q')[1]}" for r in results)
        assert sum(engine.served) == 200 and min(engine.served) > 0


def test_an_actor_killed_mid_stream_is_restarted_and_its_batches_retried(ray_connected: Any) -> None:
    import ray

    options = {"per_step": 2, "step_seconds": 0.02}
    with RayEngine(options, replicas=2, cpus_per_replica=0.5, builder=echo_engine, batch_size=8) as engine:
        victim = engine._actors[0].handle
        pid = ray.get(victim.ready.remote())["pid"]
        seen: list[Result] = []

        def kill_soon() -> None:
            while len(seen) < 40:
                time.sleep(0.01)
            os.kill(pid, signal.SIGKILL)  # the worker process of a replica, mid-stage

        killer = threading.Thread(target=kill_soon)
        killer.start()
        for result in stream(engine, requests(300)):
            seen.append(result)
        killer.join()
        assert sorted(r.id for r in seen) == sorted(r.id for r in requests(300))  # nothing lost, nothing twice
        assert ray.get(victim.ready.remote())["pid"] != pid  # Ray restarted it


def test_an_actor_dead_for_good_is_skipped_and_the_others_finish(ray_connected: Any) -> None:
    """max_restarts: 0 and its worker killed: the dead actor (0 outstanding, so "least loaded") must
    not be dealt batches again; the healthy one serves everything that is left."""
    import ray

    options = {"per_step": 2, "step_seconds": 0.02}
    with RayEngine(
        options, replicas=2, cpus_per_replica=0.5, builder=echo_engine, batch_size=8, max_restarts=0
    ) as engine:
        victim = engine._actors[0].handle
        pid = ray.get(victim.ready.remote())["pid"]
        seen: list[Result] = []

        def kill_soon() -> None:
            while len(seen) < 20:
                time.sleep(0.01)
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        for result in stream(engine, requests(300, samples=1)):
            seen.append(result)
        killer.join()
        assert sorted(r.id for r in seen) == sorted(r.id for r in requests(300))
        assert engine._actors[0].dead is not None and engine._actors[1].dead is None
        assert engine.served[1] >= 300 - engine.served[0]


@pytest.mark.vllm
def test_vllm_cpu_actors_match_the_local_engine(ray_connected: Any, tmp_path: Path) -> None:
    pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")
    from tsqa.engines.registry import create_single_engine
    from tsqa.spec.models.project import VllmModel
    from tsqa.testing.tiny_model import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    config = VllmModel(engine="vllm", model=str(model), max_model_len=512, enforce_eager=True, max_num_seqs=16)
    work = requests(60)
    with RayEngine(config, replicas=2, cpus_per_replica=0.5, batch_size=8) as engine:
        remote: dict[str, Any] = {r.id: r.texts for r in stream(engine, work)}
    local_engine = create_single_engine(config)
    try:
        local = {r.id: r.texts for r in stream(local_engine, work)}
    finally:
        local_engine.close()
    assert remote == local and all(len(t) == 3 for t in remote.values())
