"""Atomic Parquet shard writes: a shard exists whole or not at all.

A shard is written to a temporary file in the same folder, fsynced, then renamed into place; a
process killed at any moment (SIGKILL included) leaves either the previous state or the complete
shard, never a torn file. Readers only ever see `part-*.parquet` names.

Intermediate shards (read only by later stages) are lz4, the packaged dataset zstd: zstd costs
~1 µs more CPU per row to write and read; uncompressed shards cost as much as lz4 here (3× the
bytes to copy, fault in and sync) for 2.5× the disk (BENCHMARKS.md, branch cpu12). Their pages
carry a CRC32, checked on every read: neither lz4 nor an uncompressed page fails to decode on every
flipped byte, so without it a damaged shard could be read as other values.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SHARD_GLOB = "part-*.parquet"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


INTERMEDIATE = "lz4"
"""Codec of shards that only later stages read (the packaged dataset stays zstd)."""


def write_shard(folder: Path, index: int, table: pa.Table, compression: str = "zstd") -> tuple[Path, str]:
    """Write `table` as shard `index` of `folder` (Parquet, `compression` codec; an intermediate
    (INTERMEDIATE codec) with page CRCs and no statistics); returns its path and content sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    try:
        between = compression == INTERMEDIATE  # no min/max statistics: never filtered on
        pq.write_table(table, tmp, compression=compression, write_page_checksum=between, write_statistics=not between)
        digest = file_sha256(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        target = folder / shard_name(index)
        os.replace(tmp, target)
        _remember_digest(target, digest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(folder)
    return target, digest


# sha256 of the shards this process wrote, by path and file identity: the stage's manifest lists
# them right after, and hashing a file again costs as much as the first time.
_WRITTEN: dict[Path, tuple[tuple[int, int, int], str]] = {}


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _remember_digest(path: Path, digest: str) -> None:
    _WRITTEN[path] = (_identity(path), digest)


def shard_sha256(path: Path) -> str:
    """`file_sha256(path)`, without reading the file again when this process just wrote it (the
    same inode, size and modification time as when it was hashed)."""
    known = _WRITTEN.pop(path, None)
    if known is not None and known[0] == _identity(path):
        return known[1]
    return file_sha256(path)


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
    """One shard; any decode or I/O error is an UnreadableShard naming the file.

    Read with `ParquetFile` rather than `read_table`, whose dataset discovery costs ~2 ms per
    file (a stage reads its upstream's shards several times), on this thread: decoding a shard's
    columns on Arrow's pool costs ~50% more CPU for no gain in wall time on 2 cores (branch cpu12);
    a stage's parallelism is its tasks and batches (executors/)."""
    try:
        with pq.ParquetFile(path, page_checksum_verification=True) as file:
            if _footer_renamed(file):
                raise UnreadableShard(path, "its Parquet schema differs from the Arrow schema stored with it")
            missing = [c for c in columns or () if c not in file.schema_arrow.names]
            if missing:  # `read` would leave them out silently
                raise UnreadableShard(path, f"has no column {missing[0]!r}")
            return file.read(columns=columns, use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:  # ValueError: a footer name not UTF-8
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UnreadableShard(path, f"unreadable ({type(exc).__name__}: {first})") from None


def _footer_renamed(file: pq.ParquetFile) -> bool:
    """The footer carries no checksum: a flipped byte in a column's name or type reads as a shard
    with another column (a KeyError far away) or a text column as bytes. pyarrow also stores the
    Arrow schema in the footer; the two disagree when either was damaged."""
    stored = (file.metadata.metadata or {}).get(b"ARROW:schema")
    if stored is None:  # not written by pyarrow: nothing to compare with
        return False
    try:
        written = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored)))
        found = file.schema_arrow
        return bool(
            written.names != found.names
            # A text column read back as another type (bytes: a flipped bit in its logical type).
            # Only text is compared: Parquet stores some other types coarser (date64 as date32,
            # seconds as milliseconds, nested too), which then legitimately read back otherwise.
            or any(w != f and _is_text(w) for w, f in zip(written.types, found.types, strict=True))
        )
    except (ValueError, pa.ArrowException):  # UnicodeDecodeError too: a name that is not UTF-8
        return True


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


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


BATCH_ROWS = 8192
"""Rows a streaming stage takes at a time at least (`coalesced`): a model stage writes a shard per
chunk of requests (hundreds of rows), and a stage's fixed cost per batch (its reads of columns,
its calls into the Rust core) would otherwise be paid per chunk."""


def coalesced(tables: Iterable[pa.Table], min_rows: int | None = None) -> Iterator[pa.Table]:
    """Consecutive tables joined (without copying) into batches of at least `min_rows` rows
    (default BATCH_ROWS), in order; the last may hold fewer. Memory: one batch and one table."""
    min_rows = BATCH_ROWS if min_rows is None else min_rows
    held: list[pa.Table] = []
    rows = 0
    for table in tables:
        held.append(table)
        rows += table.num_rows
        if rows >= min_rows:
            yield held[0] if len(held) == 1 else pa.concat_tables(held, promote_options="default")
            held, rows = [], 0
    if held:
        yield held[0] if len(held) == 1 else pa.concat_tables(held, promote_options="default")


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

    def __init__(
        self, folder: Path, rows_per_shard: int, schema: pa.Schema | None = None, *, compression: str = "zstd"
    ) -> None:
        self.folder, self.rows_per_shard, self.schema, self.compression = folder, rows_per_shard, schema, compression
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
            write_shard(self.folder, 0, self.schema.empty_table(), self.compression)
            self.written = 1
        return self.written

    def _emit(self, rows: int) -> None:
        table = pa.concat_tables(self._buffer, promote_options="default")
        shard = table.slice(0, rows)
        if self.compression != INTERMEDIATE:  # the dataset: pages cut as one contiguous table's
            shard = shard.combine_chunks()
        write_shard(self.folder, self.written, shard, self.compression)
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
