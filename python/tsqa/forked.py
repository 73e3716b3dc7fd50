"""Chunks of work run in lock step across processes: the first in this process, the others in
children forked from it (so they start with its imports and loaded data, and pay neither again).

Each chunk is a generator of steps. `LockStep.send(value)` sends `value` into every chunk's
generator (None to start them) and returns what each yields next, in chunk order; the caller
merges them and decides what to send next (a barrier between steps: e.g. lint every chunk, then
compile). Values cross the process boundary by pickle.

Fork, not spawn: a spawned child would import everything again (~1 s). Fork before any thread
is started (Arrow starts its thread pools on the first read, not on import): a child forked
while another thread holds a lock may wait on it forever.

A child that fails is reported as WorkerFailed with its error in one line: its exception (type
and message) or its exit status, never a traceback and never a wait on a child that is gone.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Self

Steps = Generator[Any, Any, None]

_CONTEXT = multiprocessing.get_context("fork")


class WorkerFailed(Exception):
    """A child process failed (an exception, a signal, an exit) before it yielded its step."""


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LockStep:
    """Chunk 0 runs here; chunks 1.. run in forked children, started at once (they run to their
    first yield while this process runs chunk 0's first step). Use as a context manager: leaving
    it stops every child."""

    def __init__(self, chunks: Sequence[Callable[[], Steps]], what: str = "worker") -> None:
        self._what = what
        self._count = len(chunks)
        self._local = chunks[0]
        self._steps: Steps | None = None
        self._children: list[tuple[Any, Connection]] = []
        if len(chunks) > 1:
            # Objects alive now are never collected in the children (nor moved by a collection):
            # a collection touching every inherited object would copy each page it sits on.
            gc.freeze()
        try:
            for factory in chunks[1:]:
                ours, theirs = _CONTEXT.Pipe()
                others = [ours, *(conn for _, conn in self._children)]  # not the child's to hold open
                process = _CONTEXT.Process(target=_child, args=(factory, theirs, others), daemon=True)
                process.start()
                theirs.close()
                self._children.append((process, ours))
        except OSError as exc:  # no fork (out of memory or processes)
            failed = f"cannot start {what} {len(self._children) + 2} of {self._count}: {exc}"
            self.close(abandon=True)
            raise WorkerFailed(failed) from None
        finally:
            if len(chunks) > 1:
                gc.unfreeze()  # here they are ordinary objects again

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(abandon=kind is not None)

    def send(self, value: Any) -> list[Any]:
        """Each chunk's next yield after `value` (None: the first). WorkerFailed when a child
        failed; StopIteration's absence is the caller's protocol: every chunk yields per send."""
        first = self._steps is None
        if not first:
            for _, conn in self._children:
                _post(conn, ("send", value))
        if first:
            self._steps = self._local()
            out = [next(self._steps)]
        else:
            assert self._steps is not None
            out = [self._steps.send(value)]
        for i, (process, conn) in enumerate(self._children, start=2):
            out.append(self._receive(i, process, conn))
        return out

    def _receive(self, number: int, process: Any, conn: Connection) -> Any:
        name = f"{self._what} {number} of {self._count}"
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            process.join(5)
            code = process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise WorkerFailed(f"{name} ended without a result ({how})") from None
        except Exception as exc:  # noqa: BLE001 - a result that does not unpickle
            raise WorkerFailed(f"{name} sent an unreadable result: {type(exc).__name__}: {exc}") from None
        if kind == "error":
            raise WorkerFailed(f"{name} failed: {payload}")
        return payload

    def close(self, *, abandon: bool = False) -> None:
        """Stop every child (its generator is closed) and wait for it; kill one that does not end
        (at once with `abandon`: an error here makes their work moot, and it is pure work)."""
        if self._steps is not None:
            self._steps.close()
        for process, conn in self._children:
            if abandon:
                process.kill()
            else:
                _post(conn, ("close", None))
            conn.close()
        for process, _ in self._children:
            process.join(5)
            if process.exitcode is None:
                process.kill()
                process.join()
        self._children = []


def _post(conn: Connection, message: tuple[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the child is gone: its receive reports it
        conn.send(message)


def _child(factory: Callable[[], Steps], conn: Connection, parents: list[Connection]) -> None:
    """A child's loop: run the chunk to each yield, send what it yields, wait for the next value.
    Ends on `close`, on the parent's end of the pipe closing, or after the last step."""
    for other in parents:  # only the parent holds its ends: its exit ends our receive
        other.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us, quietly
    try:
        steps = factory()
        conn.send(("ok", next(steps)))
        while True:
            kind, value = conn.recv()
            if kind == "close":
                steps.close()
                return
            conn.send(("ok", steps.send(value)))
    except (EOFError, BrokenPipeError, StopIteration):
        return
    except BaseException as exc:  # noqa: BLE001 - reported to the parent in one line
        with contextlib.suppress(Exception):  # the parent may be gone
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:2000]))
    finally:
        conn.close()
