"""A Parquet seed file opened through its footer head (`seeds/readers/parquet_head.py`) gives the
row count and first rows a full open gives, and opens in full when a read needs more."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tsqa.seeds.errors import SeedDataError
from tsqa.seeds.readers import files
from tsqa.seeds.readers.parquet_head import HEAD_ROWS, open_parquet


def _table(rows: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + rows))
    return pa.table(
        {
            "question": [f"question {i} " + "x" * (i % 17) for i in ids],
            "choices": [[f"a{i}", f"b{i}", None] for i in ids],
            "answer": [i % 3 for i in ids],
            "meta": [{"source": f"s{i % 5}", "score": i / 7} for i in ids],
            "when": pa.array([i * 1_000_000 for i in ids], pa.timestamp("us", tz="UTC")),
        }
    )


def _write(path: Path, rows: int, group_rows: int, **options: object) -> Path:
    table = _table(rows)
    pq.write_table(table, path, row_group_size=group_rows, **options)  # type: ignore[arg-type]
    return path


CASES = {
    "one group": {"rows": 3000, "group_rows": 3000},
    "137 groups": {"rows": 137_000, "group_rows": 1000},
    "groups of 1": {"rows": 50, "group_rows": 1},
    "groups of 7, no dictionary": {"rows": 2000, "group_rows": 7, "use_dictionary": False},
    "no statistics, snappy": {"rows": 5000, "group_rows": 300, "write_statistics": False, "compression": "snappy"},
    "uncompressed, page index": {"rows": 4000, "group_rows": 500, "compression": "none", "write_page_index": True},
    "footer over 64 KiB": {"rows": 40_000, "group_rows": 40},
}


@pytest.fixture(autouse=True)
def _fresh_opens() -> None:
    files._opened.cache_clear()


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_count_and_first_rows_match_a_full_read(tmp_path: Path, case: str) -> None:
    options = dict(CASES[case])
    path = _write(tmp_path / "train.parquet", int(options.pop("rows")), int(options.pop("group_rows")), **options)
    whole = pq.read_table(path)
    opened = open_parquet(str(path))
    assert opened.num_rows == whole.num_rows == files.count_rows(path, "parquet")
    if pq.ParquetFile(path).metadata.num_row_groups > 1 and whole.num_rows > HEAD_ROWS:
        assert opened.file.metadata.num_row_groups < pq.ParquetFile(path).metadata.num_row_groups  # it was cut
        assert opened.head_rows is not None and opened.head_rows >= HEAD_ROWS
    for limit in (1, 8, 33, HEAD_ROWS, HEAD_ROWS + 1, 5000, whole.num_rows + 10):
        got = files._read_parquet(path, limit)
        assert got.equals(whole.slice(0, limit)), (case, limit)
        assert got.schema == whole.schema


def test_a_file_of_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    pq.write_table(_table(0), path)
    assert open_parquet(str(path)).num_rows == 0
    assert files._read_parquet(path, 8).num_rows == 0


def test_pandas_and_arrow_schema_metadata_survive(tmp_path: Path) -> None:
    """The key-value metadata after the row groups (the Arrow schema: time zones, large types)
    is kept byte for byte."""
    path = tmp_path / "train.parquet"
    table = pa.table({"q": pa.array(["a", "b"] * 600, pa.large_string()), "d": pa.array([1, 2] * 600, pa.int8())})
    table = table.replace_schema_metadata({"origin": "é" * 3000})
    pq.write_table(table, path, row_group_size=10)
    got = files._read_parquet(path, 8)
    assert got.schema == pq.read_table(path).schema
    assert got.schema.metadata == pq.read_table(path).schema.metadata


def _zero_footer_start(data: bytes) -> bytes:
    start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    return data[:start] + b"\x00" * 16 + data[start + 16 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut short
        lambda b: _zero_footer_start(b),
        lambda b: b[:-8] + (len(b) * 3).to_bytes(4, "little") + b"PAR1",  # footer longer than the file
        lambda b: b[:-4] + b"PARE",  # an encrypted footer's magic
    ],
    ids=["truncated", "zeroed footer", "bad length", "encrypted magic"],
)
def test_a_damaged_file_fails_as_a_full_open_fails(tmp_path: Path, damage: object) -> None:
    good = _write(tmp_path / "good.parquet", 5000, 100)
    path = tmp_path / "train.parquet"
    path.write_bytes(damage(good.read_bytes()))  # type: ignore[operator]
    with pytest.raises((pa.ArrowException, OSError)):
        pq.ParquetFile(path).read()
    with pytest.raises(SeedDataError, match=r"train\.parquet"):
        files.count_rows(path, "parquet")
    with pytest.raises(SeedDataError, match=r"train\.parquet"):
        files._read_parquet(path, 8)


def test_a_changed_file_is_opened_again(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.parquet", 3000, 100)
    assert files.count_rows(path, "parquet") == 3000
    _write(tmp_path / "new.parquet", 4500, 100)
    os.replace(tmp_path / "new.parquet", path)
    assert files.count_rows(path, "parquet") == 4500
    assert files._read_parquet(path, 3).equals(_table(3))
