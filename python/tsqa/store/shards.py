"""Atomic Parquet shard writes: a shard exists whole or not at all.

A shard is written to a temporary file in the same folder, fsynced, then renamed into place; a
process killed at any moment (SIGKILL included) leaves either the previous state or the complete
shard, never a torn file. Readers only ever see `part-*.parquet` names.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SHARD_GLOB = "part-*.parquet"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def write_shard(folder: Path, index: int, table: pa.Table) -> tuple[Path, str]:
    """Write `table` as shard `index` of `folder`; returns its path and content sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        digest = file_sha256(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        target = folder / shard_name(index)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(folder)
    return target, digest


def existing_shards(folder: Path) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    return {int(p.stem.split("-")[1]): p for p in folder.glob(SHARD_GLOB)}


def read_shards(folder: Path) -> pa.Table | None:
    shards = existing_shards(folder)
    if not shards:
        return None
    tables = [pq.read_table(shards[i]) for i in sorted(shards)]
    return pa.concat_tables(tables, promote_options="default")


def remove_stray_temporaries(folder: Path) -> None:
    """Temporaries left by a killed writer; never part of the data."""
    if folder.is_dir():
        for tmp in folder.glob(".tmp-*"):
            tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
