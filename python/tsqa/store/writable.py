"""Before any model call: can apply write where it must and read what it needs?

Each place is probed for real (create the folder, write and fsync a small file, remove it; open
existing files for update) and the free space is checked, so a read-only mount, a permission
problem or a full disk is one clear message naming the path, before a GPU second is spent, rather
than a traceback after the first stage.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

MIN_FREE_BYTES = 64 << 20
"""Free space required by default where apply writes (shards, cache, manifests)."""

_PROBE = b"tsqa writability probe\n" * 178  # ~4 KiB: a real block must be allocatable

_CAUSES = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (permissions or an immutable folder)",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.ENOTDIR: "a file is in the way of the folder",
    errno.ENOENT: "it does not exist",
}


@dataclass(frozen=True)
class Need:
    """A place apply uses: a folder it writes into (and the files in it it updates), or reads."""

    path: Path
    label: str
    """What it is, for the message: "run directory", "response cache", "seed store"."""
    write: bool = True
    files: tuple[str, ...] = ()
    """Existing files in the folder that apply updates in place (e.g. the cache database)."""
    min_free_bytes: int = MIN_FREE_BYTES


class NotWritable(Exception):
    """One or more places apply needs are unusable; `problems` has one line per place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def check(needs: list[Need]) -> None:
    """Raise NotWritable listing every unusable place; returns quietly when all are fine."""
    problems = [p for need in needs if (p := problem(need)) is not None]
    if problems:
        raise NotWritable(problems)


def problem(need: Need) -> str | None:
    """What is wrong with one place, as a sentence, or None."""
    path = need.path
    if not need.write:
        if not path.exists():
            return None  # absent is for the reader to report (e.g. "run tsqa seeds fetch")
        if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            return f"cannot read the {need.label} {path}: permission denied"
        return None
    if path.exists() and not path.is_dir():
        return f"cannot write the {need.label} {path}: it is a file, not a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".tmp-writable-")
        try:
            os.write(fd, _PROBE)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
        for name in need.files:
            existing = path / name
            if existing.exists():
                with open(existing, "r+b"):
                    pass
    except OSError as exc:
        return f"cannot write the {need.label} {path}: {_cause(exc)}"
    free = _free_bytes(path)
    if free is not None and free < need.min_free_bytes:
        return (
            f"not enough free space for the {need.label} {path}: {free / 2**20:.1f} MiB free, "
            f"at least {need.min_free_bytes / 2**20:.0f} MiB needed"
        )
    return None


def _cause(exc: OSError) -> str:
    cause = _CAUSES.get(exc.errno or -1) or exc.strerror or str(exc)
    where = exc.filename
    return f"{cause} ({where})" if where else cause


def _free_bytes(path: Path) -> int | None:
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize
