"""Atomic Parquet shard writes: a shard exists whole or not at all.

A shard is written to a temporary file in the same folder, fsynced, then renamed into place; a
process killed at any moment (SIGKILL included) leaves either the previous state or the complete
shard, never a torn file. Readers only ever see `part-*.parquet` names.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
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


class UnreadableShard(Exception):
    """A shard whose footer read but whose data does not decode (a flipped byte in a page): the
    caller recomputes the stage that wrote it instead of failing every apply."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def read_shard(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One shard; any decode or I/O error is an UnreadableShard naming the file."""
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UnreadableShard(path, f"unreadable ({type(exc).__name__}: {first})") from None


def read_shards(folder: Path, columns: list[str] | None = None) -> pa.Table | None:
    shards = existing_shards(folder)
    if not shards:
        return None
    tables = [read_shard(shards[i], columns=columns) for i in sorted(shards)]
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


def iter_shards(folder: Path, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The shards of `folder` in order, one table at a time (memory: one shard)."""
    shards = existing_shards(folder)
    for index in sorted(shards):
        yield read_shard(shards[index], columns=columns)


def shard_rows(folder: Path) -> int:
    """Rows in all shards of `folder`, from the Parquet footers (no data read)."""
    return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in existing_shards(folder).values())


class ShardWriter:
    """Writes a stream of tables as shards of at most `rows_per_shard` rows (`output.shard_rows`),
    buffering at most one shard. Shards are numbered from 0 in the order rows arrive."""

    def __init__(self, folder: Path, rows_per_shard: int, schema: pa.Schema | None = None) -> None:
        self.folder, self.rows_per_shard, self.schema = folder, rows_per_shard, schema
        self.written = 0
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def write(self, table: pa.Table) -> None:
        if self.schema is None:
            self.schema = table.schema
        if not table.num_rows:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        while self._buffered >= self.rows_per_shard:
            self._emit(self.rows_per_shard)

    def close(self, *, empty_shard: bool = True) -> int:
        """Flush the rest; with `empty_shard`, a stream of no rows still writes one empty shard (so
        readers know the schema). Returns the number of shards written."""
        if self._buffered:
            self._emit(self._buffered)
        elif empty_shard and not self.written and self.schema is not None:
            write_shard(self.folder, 0, self.schema.empty_table())
            self.written = 1
        return self.written

    def _emit(self, rows: int) -> None:
        table = pa.concat_tables(self._buffer, promote_options="default")
        write_shard(self.folder, self.written, table.slice(0, rows).combine_chunks())
        self.written += 1
        rest = table.slice(rows)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows


def clear_shards(folder: Path) -> None:
    """Remove every shard of a stage that did not complete (it is rewritten from the start)."""
    for path in existing_shards(folder).values():
        path.unlink()
    remove_stray_temporaries(folder)


def export_shards(source: Path, target: Path) -> None:
    """Make `target` hold exactly the shards of `source` (the packaged dataset is the package
    stage's output): hard links where the filesystem allows, else copies; each file appears
    atomically (linked or copied under a temporary name, then renamed)."""
    import shutil

    clear_shards(target)
    target.mkdir(parents=True, exist_ok=True)
    for index, path in sorted(existing_shards(source).items()):
        tmp = target / f".tmp-export-{index}.parquet"
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, target / shard_name(index))
    _fsync_dir(target)
