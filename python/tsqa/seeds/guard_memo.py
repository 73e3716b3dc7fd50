"""Guard verdicts remembered within one `tsqa plan`: its lint rules, row count and prompt sample
check the same seed files, and each check walks every symlink hop, path component and root
(about 1 ms a file, 4 times per spec).

Only inside `remembering()`; outside it every call runs the guard in full. A verdict is reused
only for the same path as written (from the same working folder), the same roots, the same
resolved path and the same file on disk (lstat of the path, stat of what it resolves to: device,
inode, links, size, mtime, ctime), so a file swapped, relinked or rewritten meanwhile is checked
again. Refusals are never remembered: each call raises its own, naming its own task.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tsqa.seeds import guard
from tsqa.seeds.guard import SeedRoots

_verdicts: dict[tuple[object, ...], Path] | None = None
_roots: dict[tuple[object, ...], SeedRoots] | None = None


@contextmanager
def remembering() -> Iterator[None]:
    """Remember guard verdicts and seed roots until the block ends (nested blocks share them)."""
    global _verdicts, _roots
    if _verdicts is not None:
        yield
        return
    _verdicts, _roots = {}, {}
    try:
        yield
    finally:
        _verdicts, _roots = None, None


def guard_path(task: str, path: Path, roots: SeedRoots) -> Path:
    """`guard.guard_path`, remembered for an unchanged file within `remembering()`."""
    if _verdicts is None:
        return guard.guard_path(task, path, roots)
    key = _identity(path, roots)
    if key is not None and (real := _verdicts.get(key)) is not None:
        return real
    real = guard.guard_path(task, path, roots)
    if key is not None:
        _verdicts[key] = real
    return real


def roots_around(spec_dir: Path, data_dir: Path | None = None, extra: Iterable[Path] = ()) -> SeedRoots:
    """`SeedRoots.around`, built once per (folder, data dir, extra roots) within `remembering()`."""
    extra = tuple(extra)
    if _roots is None:
        return SeedRoots.around(spec_dir, data_dir, extra)
    key = (os.getcwd(), os.fspath(spec_dir), None if data_dir is None else os.fspath(data_dir), extra)
    if key not in _roots:
        _roots[key] = SeedRoots.around(spec_dir, data_dir, extra)
    return _roots[key]


def _identity(path: Path, roots: SeedRoots) -> tuple[object, ...] | None:
    """What a verdict depends on, or None when the file cannot be looked at (never remembered)."""
    try:
        link = os.lstat(path)
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (
        os.getcwd(),
        os.fspath(path),
        os.path.realpath(path),
        roots,
        (link.st_dev, link.st_ino, link.st_mode, link.st_mtime_ns, link.st_ctime_ns),
        (st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
    )
