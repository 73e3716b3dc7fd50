"""Moving a damaged file aside: kept for inspection under a name no reader looks for, so that the
run rebuilds what it held instead of failing on it again and again."""

from __future__ import annotations

import os
import time
from pathlib import Path


def move_aside(path: Path, sidecars: tuple[str, ...] = ()) -> Path:
    """Rename `path` to `<name>.damaged-<UTC time>` (unique) with its `sidecars` (suffixes such as
    "-wal") beside it; returns the new path. Raises OSError when the folder is not writable."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, aside)
    for suffix in sidecars:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside
