"""One `tsqa apply` per run directory at a time.

The lock is an `flock` on `<run dir>/apply.lock`, which also records the holder (pid, host, start
time, command). The kernel drops an flock when its holder dies, however it dies, so a crashed
apply never blocks the next one. On a file system without flock support the file itself is the
lock (created exclusively); a lock left by a process that is no longer running on this host is
stale and taken over. A second apply is refused with a message naming the holder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

LOCK_FILE = "apply.lock"


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    started_at: str
    command: str

    @classmethod
    def me(cls) -> Holder:
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=" ".join(["tsqa", *sys.argv[1:]])[:300],
        )

    def alive(self) -> bool | None:
        """Whether the pid runs; None when it is on another host (cannot tell from here)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by someone else
        return True

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, running since {self.started_at} ({self.command})"


class LockError(Exception):
    """The run directory is in use or the lock cannot be taken; the message says by whom / why."""

    def __init__(self, message: str, holder: Holder | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None
        self._exclusive_file = False

    def acquire(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LockError(f"cannot create the run lock {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise self._held(read_holder(self.path), flocked=True) from None
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                return self._acquire_exclusive_file()
            raise LockError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        self._fd = fd
        self._write_holder(fd)
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)  # no holder recorded once free
            os.close(self._fd)  # closing drops the flock
            self._fd = None
        if self._exclusive_file:
            self.path.unlink(missing_ok=True)
            self._exclusive_file = False

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _acquire_exclusive_file(self) -> Self:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                holder = read_holder(self.path)
                if holder is not None and holder.alive() is False:
                    self.path.unlink(missing_ok=True)  # stale: its holder is gone from this host
                    continue
                if holder is None and self.path.stat().st_size == 0:
                    self.path.unlink(missing_ok=True)  # left empty by a holder killed while writing it
                    continue
                raise self._held(holder, flocked=False) from None
            except OSError as exc:
                raise LockError(f"cannot create the run lock {self.path}: {exc.strerror or exc}") from None
            self._fd, self._exclusive_file = fd, True
            self._write_holder(fd)
            return self
        raise LockError(f"cannot take the run lock {self.path}: another apply keeps taking it")

    def _write_holder(self, fd: int) -> None:
        payload = json.dumps(asdict(Holder.me())).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        os.fsync(fd)

    def _held(self, holder: Holder | None, *, flocked: bool) -> LockError:
        where = self.path.parent
        if holder is None:
            return LockError(f"the run directory {where} is in use by another tsqa apply (holder unknown)", None)
        message = f"the run directory {where} is in use by another tsqa apply: {holder.describe()}"
        if flocked and holder.alive() is False:
            message += (
                f"; pid {holder.pid} has exited but a process it started still holds {self.path} "
                "(an engine worker?): stop it, then run apply again"
            )
        else:
            message += "; wait for it to finish (or stop it), then run apply again"
        return LockError(message, holder)


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_bytes() or b"null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None
