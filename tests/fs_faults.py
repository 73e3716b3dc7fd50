"""Real file-system faults for tests: a read-only folder and a nearly full disk.

As a normal user, read-only is `chmod`; as root (who ignores modes) it is a read-only bind mount.
A full disk is a tiny tmpfs, which needs root; tests skip when the fault cannot be made here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` (and everything under it) cannot be written while the context is open."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield folder
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if not (_mount("--bind", str(folder), str(folder)) and _mount("-o", "remount,bind,ro", str(folder))):
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        pytest.skip("cannot make a read-only bind mount here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, check=True)


@contextlib.contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """`folder` becomes a tmpfs of `size_kib` KiB (root only)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=True)


def fill(folder: Path) -> None:
    """Write until the file system under `folder` is full."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()


@contextlib.contextmanager
def no_permission(target: Path) -> Iterator[Path]:
    """`target` (a folder or file) cannot be changed: mode bits as a normal user, the immutable
    attribute as root (who ignores modes)."""
    if os.geteuid() != 0:
        mode = target.stat().st_mode
        target.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield target
        finally:
            target.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot set the immutable attribute here")
    try:
        yield target
    finally:
        subprocess.run(["chattr", "-i", str(target)], capture_output=True, check=True)
