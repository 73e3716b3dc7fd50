"""Shards: atomic writes, shard_rows-sized streaming writes, reads shard by shard."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tsqa.store.shards import (
    ShardWriter,
    UnreadableShard,
    clear_shards,
    existing_shards,
    iter_shards,
    read_shard,
    read_shards,
    shard_rows,
    write_shard,
)

SCHEMA = pa.schema([("id", pa.string()), ("n", pa.int64())])


def table(start: int, count: int) -> pa.Table:
    return pa.table({"id": [f"r{i}" for i in range(start, start + count)], "n": list(range(start, start + count))})


def test_writer_cuts_the_stream_into_shard_rows_shards(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path, 4, SCHEMA)
    for start, count in ((0, 3), (3, 3), (6, 0), (6, 5)):
        writer.write(table(start, count))
    assert writer.close() == 3
    sizes = [t.num_rows for t in iter_shards(tmp_path)]
    assert sizes == [4, 4, 3] and shard_rows(tmp_path) == 11
    assert read_shards(tmp_path).column("n").to_pylist() == list(range(11))  # type: ignore[union-attr]


def test_no_rows_still_leaves_an_empty_shard_with_the_schema(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path / "data", 10, SCHEMA)
    writer.write(table(0, 0))
    assert writer.close() == 1
    only = read_shards(tmp_path / "data")
    assert only is not None and only.num_rows == 0 and only.schema == SCHEMA
    rejects = ShardWriter(tmp_path / "rejects", 10)
    assert rejects.close(empty_shard=False) == 0 and not existing_shards(tmp_path / "rejects")


def test_columns_and_clearing(tmp_path: Path) -> None:
    write_shard(tmp_path, 0, table(0, 2))
    write_shard(tmp_path, 1, table(2, 2))
    (tmp_path / ".tmp-killed.parquet").write_bytes(b"torn")
    assert [t.column_names for t in iter_shards(tmp_path, ["n"])] == [["n"], ["n"]]
    clear_shards(tmp_path)
    assert not list(tmp_path.iterdir())


def test_read_shard_columns_and_a_missing_column(tmp_path: Path) -> None:
    """Columns are read as `read_table` reads them (dictionary columns included); a column the
    shard lacks is an UnreadableShard naming the file, never a silently shorter table."""
    table = pa.table({"a": [1, 2], "d": pa.array(["x", "x"]).dictionary_encode()})
    path, _ = write_shard(tmp_path, 0, table)
    assert read_shard(path).equals(pq.read_table(path)) and read_shard(path).schema == table.schema
    assert read_shard(path, ["d"]).column_names == ["d"]
    with pytest.raises(UnreadableShard, match=r"part-00000\.parquet: has no column 'b'"):
        read_shard(path, ["a", "b"])


def test_shard_sha256_is_the_file_digest_whether_remembered_or_not(tmp_path: Path) -> None:
    from tsqa.store.shards import file_sha256, shard_sha256

    path, digest = write_shard(tmp_path, 0, pa.table({"a": list(range(100))}), "lz4")
    assert shard_sha256(path) == digest == file_sha256(path)  # remembered from the write
    assert shard_sha256(path) == digest  # read again: the same
    path2, _ = write_shard(tmp_path, 1, pa.table({"a": list(range(100))}), "lz4")
    pq.write_table(pa.table({"a": list(range(5))}), path2)  # rewritten after the write: hashed again
    assert shard_sha256(path2) == file_sha256(path2)


def test_intermediate_shards_carry_page_checksums_the_dataset_codec_does_not(tmp_path: Path) -> None:
    path, _ = write_shard(tmp_path, 0, pa.table({"a": [f"value {i:05d}" for i in range(3000)]}), "lz4")
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert column.compression == "LZ4" and not column.is_stats_set
    data = bytearray(path.read_bytes())
    data[data.index(b"value 0") + 3] ^= 0x20  # an lz4 literal: it decodes, to another letter
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableShard, match="CRC"):
        read_shard(path)
    zpath, _ = write_shard(tmp_path / "z", 0, pa.table({"a": ["x" * 40] * 10}), "zstd")
    zcolumn = pq.ParquetFile(zpath).metadata.row_group(0).column(0)
    assert zcolumn.compression == "ZSTD" and zcolumn.is_stats_set  # the dataset's shards: as before
