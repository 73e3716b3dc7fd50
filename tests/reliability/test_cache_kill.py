"""SIGKILL a process that is making model calls, again and again: nothing is lost, and a kill
repeats only calls that had not been durably handed over (the engine's in-flight calls and the
few results of the last commit), never a batch of finished work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tsqa.store.response_cache import MAX_BATCH, ResponseCache

RUNNER = Path(__file__).with_name("cache_kill_runner.py")
N, CONCURRENCY = 400, 4


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_kills_repeat_at_most_the_calls_in_flight(tmp_path: Path) -> None:
    cache, log = tmp_path / "responses.sqlite", tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(11)
    kills, per_kill_repeats, in_flight_at_kill = 0, [], []
    for _ in range(60):
        before = len(_lines(log))
        proc = subprocess.Popen(
            [sys.executable, str(RUNNER), str(cache), str(log), str(N), str(CONCURRENCY)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        target = rng.randint(5, 40)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            done_now = sum(line.startswith("done") for line in _lines(log)[before:])
            if done_now >= target:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            assert out.startswith(f"complete {N}"), (out, err)
            break
        assert proc.returncode == -signal.SIGKILL, err
        kills += 1
        segment = _lines(log)[before:]
        started = {line.split()[1] for line in segment if line.startswith("start")}
        finished = {line.split()[1] for line in segment if line.startswith("done")}
        in_flight_at_kill.append(len(started - finished))
        with ResponseCache(cache) as c:
            per_kill_repeats.append(len(finished - set(c.get_many(finished))))
    else:
        raise AssertionError("the runner never completed")

    done = Counter(line.split()[1] for line in _lines(log) if line.startswith("done"))
    assert set(done) == {f"k{i:04d}" for i in range(N)}  # every call was made and kept
    with ResponseCache(cache) as c:
        assert len(c) == N
    repeated = sum(n - 1 for n in done.values())
    assert kills >= 5
    assert repeated == sum(per_kill_repeats)
    # Guaranteed bound: results the engine had finished but not yet handed over (≤ concurrency),
    # plus those waiting for or inside the writer's current commit (≤ 2 × MAX_BATCH).
    assert max(per_kill_repeats) <= CONCURRENCY + 2 * MAX_BATCH, per_kill_repeats
    print(
        f"\n{kills} kills, {N} calls: {repeated} finished calls repeated "
        f"(per kill {per_kill_repeats}; in flight at each kill {in_flight_at_kill})"
    )
