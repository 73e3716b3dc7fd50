"""Shards: atomic writes, shard_rows-sized streaming writes, reads shard by shard."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tsqa.store.shards import (
    ShardWriter,
    clear_shards,
    existing_shards,
    iter_shards,
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
