"""tsqa.forked.LockStep: chunks in lock step across forked processes (the parallel plan's engine)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial

import pytest

from tsqa.forked import LockStep, Steps, WorkerFailed


def counter(start: int) -> Steps:
    total = start
    while True:
        total += yield (os.getpid(), total)


def test_values_come_back_in_chunk_order_from_other_processes() -> None:
    with LockStep([partial(counter, i * 100) for i in range(3)]) as steps:
        first = steps.send(None)
        assert [v for _, v in first] == [0, 100, 200]
        pids = [p for p, _ in first]
        assert pids[0] == os.getpid() and len(set(pids)) == 3
        assert [v for _, v in steps.send(5)] == [5, 105, 205]
        assert [v for _, v in steps.send(1)] == [6, 106, 206]


def test_one_chunk_forks_nothing() -> None:
    with LockStep([partial(counter, 1)]) as steps:
        assert steps.send(None) == [(os.getpid(), 1)]


def test_children_are_stopped_when_the_parent_fails() -> None:
    parent = os.getpid()

    def chunk() -> Steps:
        yield os.getpid()
        if os.getpid() == parent:
            raise ValueError("parent's own chunk fails")
        time.sleep(60)  # pragma: no cover - killed, never finishes
        yield None  # pragma: no cover

    steps = LockStep([chunk, chunk])
    child = steps._children[0][0]
    with pytest.raises(ValueError, match="own chunk"), steps:
        steps.send(None)
        steps.send(None)
    assert not child.is_alive() and child.exitcode is not None


def test_a_child_error_names_the_worker_and_the_exception() -> None:
    def chunk(fail: bool) -> Steps:
        yield 1
        if fail:
            raise KeyError("missing")
        yield 2

    factories: list[Callable[[], Steps]] = [partial(chunk, False), partial(chunk, False), partial(chunk, True)]
    with LockStep(factories, "plan worker") as steps:
        assert steps.send(None) == [1, 1, 1]
        with pytest.raises(WorkerFailed, match=r"^plan worker 3 of 3 failed: KeyError: 'missing'$"):
            steps.send(None)


def test_a_fork_that_fails_is_one_error_and_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.popen_fork

    real_launch = multiprocessing.popen_fork.Popen._launch
    started: list[int] = []

    def launch(self: multiprocessing.popen_fork.Popen, process_obj: object) -> None:
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        real_launch(self, process_obj)
        started.append(self.pid)

    monkeypatch.setattr(multiprocessing.popen_fork.Popen, "_launch", launch)
    with pytest.raises(WorkerFailed, match=r"^cannot start plan worker 3 of 3: \[Errno 11\]"):
        LockStep([partial(counter, 0)] * 3, "plan worker")
    assert len(started) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # reaped: killed and joined


def test_a_result_that_does_not_unpickle_is_one_error() -> None:
    def chunk() -> Steps:
        yield Unpicklable() if os.getpid() != parent else 0

    parent = os.getpid()
    with LockStep([chunk, chunk], "plan worker") as steps, pytest.raises(WorkerFailed, match="unreadable result"):
        steps.send(None)


class Unpicklable:
    def __reduce__(self) -> tuple[object, ...]:
        return (_refuse, ())


def _refuse() -> None:
    raise ValueError("cannot rebuild")
