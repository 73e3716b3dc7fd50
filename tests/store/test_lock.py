"""The run lock: one apply per run directory, the holder named, a dead holder never blocks."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from fs_faults import read_only
from tsqa.store import lock as lock_module
from tsqa.store.lock import LOCK_FILE, LockError, RunLock, read_holder

HOST = socket.gethostname()


def _holder_process(run_dir: Path, *, fork_child: bool = False) -> subprocess.Popen[str]:
    """A process that takes the lock, says so, and sleeps (or hands it to a forked child and exits)."""
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from tsqa.store.lock import RunLock
        lock = RunLock(Path({str(run_dir)!r})).acquire()
        if {fork_child!r}:
            child = os.fork()
            if child:
                print(child, flush=True)
                os._exit(0)
        else:
            print(os.getpid(), flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = RunLock(tmp_path).acquire()
    holder = read_holder(tmp_path / LOCK_FILE)
    assert holder is not None and holder.pid == os.getpid() and holder.host == HOST
    with pytest.raises(LockError) as refused:
        RunLock(tmp_path).acquire()
    message = str(refused.value)
    assert f"the run directory {tmp_path} is in use by another tsqa apply: pid {os.getpid()} on {HOST}" in message
    assert "running since" in message and "wait for it to finish" in message
    assert refused.value.holder == holder
    first.release()
    assert read_holder(tmp_path / LOCK_FILE) is None  # free: no holder recorded
    with RunLock(tmp_path):
        pass


def test_a_killed_holder_never_blocks(tmp_path: Path) -> None:
    proc = _holder_process(tmp_path)
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        with pytest.raises(LockError, match=rf"in use by another tsqa apply: pid {pid} on "):
            RunLock(tmp_path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    with RunLock(tmp_path) as taken:  # the kernel dropped the dead holder's lock
        assert read_holder(taken.path).pid == os.getpid()  # type: ignore[union-attr]


def test_a_child_still_holding_the_lock_is_explained(tmp_path: Path) -> None:
    proc = _holder_process(tmp_path, fork_child=True)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.wait()  # the holder exited; its forked child (which keeps the pipe open) holds the lock
    proc.stdout.close()
    try:
        with pytest.raises(LockError, match=r"has exited but a process it started still holds"):
            RunLock(tmp_path).acquire()
    finally:
        os.kill(child, signal.SIGKILL)
    for _ in range(500):
        try:
            RunLock(tmp_path).acquire().release()
            break
        except LockError:
            time.sleep(0.01)  # the child is still being reaped
    else:
        raise AssertionError("the lock stayed held after the child died")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def no_flock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system without flock support (some network mounts)."""

    def refuse(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock_module.fcntl, "flock", refuse)


def _write_holder(path: Path, pid: int, host: str = HOST) -> None:
    holder = {"pid": pid, "host": host, "started_at": "2026-01-01T00:00:00+00:00", "command": "tsqa apply"}
    path.write_text(json.dumps(holder))


def test_without_flock_a_stale_lock_file_is_taken_over(tmp_path: Path, no_flock: None) -> None:
    _write_holder(tmp_path / LOCK_FILE, _dead_pid())
    with RunLock(tmp_path) as taken:
        assert read_holder(taken.path).pid == os.getpid()  # type: ignore[union-attr]
        with pytest.raises(LockError, match=rf"pid {os.getpid()} on {HOST}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_FILE).exists()  # released: the file was the lock
    (tmp_path / LOCK_FILE).write_bytes(b"")  # a holder killed before it wrote itself down
    RunLock(tmp_path).acquire().release()


def test_without_flock_a_live_or_remote_holder_is_respected(tmp_path: Path, no_flock: None) -> None:
    _write_holder(tmp_path / LOCK_FILE, os.getppid())
    with pytest.raises(LockError, match=rf"pid {os.getppid()} on {HOST}"):
        RunLock(tmp_path).acquire()
    _write_holder(tmp_path / LOCK_FILE, _dead_pid(), host="other-node")  # cannot tell from here
    with pytest.raises(LockError, match=r"on other-node"):
        RunLock(tmp_path).acquire()


def test_a_garbled_holder_record_still_refuses(tmp_path: Path) -> None:
    with RunLock(tmp_path) as held:
        os.truncate(held.path, 0)
        held.path.write_bytes(b"{not json")
        with pytest.raises(LockError, match=r"in use by another tsqa apply \(holder unknown\)"):
            RunLock(tmp_path).acquire()


def test_an_unwritable_run_directory_is_a_clear_error(tmp_path: Path) -> None:
    with read_only(tmp_path), pytest.raises(LockError, match=rf"cannot create the run lock {tmp_path}/apply.lock: "):
        RunLock(tmp_path).acquire()


def test_flock_is_what_holds_it(tmp_path: Path) -> None:
    """The lock is the kernel's (flock), not the file's existence: a leftover file never blocks."""
    _write_holder(tmp_path / LOCK_FILE, 1)  # pid 1 is alive; with flock that does not matter
    with RunLock(tmp_path) as taken:
        fd = os.open(taken.path, os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
