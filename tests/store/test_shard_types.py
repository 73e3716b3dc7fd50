"""read_shard compares a shard's footer with the Arrow schema pyarrow stored in it (a flipped bit in
the footer, which has no checksum, must not read as other columns). Seed shards keep the source's
own columns, of any type: those Parquet stores coarser read back as another type, legitimately, and
must never be taken for damage (apply would recompute the seeds stage on every run)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from tsqa.store.shards import INTERMEDIATE, UnreadableShard, read_shard, write_shard

COARSER_IN_PARQUET = {
    "date64": pa.array([datetime.date(2020, 1, 1)], pa.date64()),
    "seconds": pa.array([1], pa.timestamp("s")),
    "time32": pa.array([1], pa.time32("s")),
    "nested": pa.array([[1]], pa.list_(pa.timestamp("s"))),
    "in_struct": pa.array([{"t": 1}], pa.struct([("t", pa.timestamp("s"))])),
}


@pytest.mark.parametrize("codec", [INTERMEDIATE, "zstd"])
@pytest.mark.parametrize("name", sorted(COARSER_IN_PARQUET))
def test_a_type_parquet_stores_coarser_is_not_damage(tmp_path: Path, codec: str, name: str) -> None:
    path, _ = write_shard(tmp_path, 0, pa.table({name: COARSER_IN_PARQUET[name], "text": ["x"]}), codec)
    table = read_shard(path)  # was: UnreadableShard "its Parquet schema differs ..."
    original = COARSER_IN_PARQUET[name]
    assert table.column("text").to_pylist() == ["x"]
    assert table.column(name).cast(original.type).to_pylist() == original.to_pylist()


def test_a_text_column_that_reads_as_bytes_is_damage(tmp_path: Path) -> None:
    """One bit of the footer: the column's logical type UTF8 (thrift field header 0x25) becomes
    another field (0x35): Parquet then reads the column as binary."""
    path, _ = write_shard(tmp_path, 0, pa.table({"id": ["a/1", "b/2"]}), INTERMEDIATE)
    data = bytearray(path.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = bytes(data).index(b"\x02id%\x00", footer)
    data[at + 3] ^= 1 << 4
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableShard, match="differs from the Arrow schema"):
        read_shard(path)
