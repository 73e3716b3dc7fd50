"""Class: a Parquet seed file opened for the plan through its footer head (branch s12: Rust walks
the Thrift footer and keeps the first row groups; pyarrow parses only those). A file a full open
refuses must be refused by the plan as before (main: `pq.ParquetFile` parsed the whole footer, so
a damaged footer was "not a readable Parquet file" at plan time); row counts and first rows must
be a full open's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from attack_helpers import Attack, Workspace

from tsqa.seeds.errors import SeedDataError
from tsqa.seeds.readers import files

# A minimal Thrift compact-protocol walker, to find the bytes to damage.


def _varint(b: bytes, p: int) -> tuple[int, int]:
    v = s = 0
    while True:
        x = b[p]
        p += 1
        v |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return v, p


def _skip(b: bytes, p: int, k: int) -> int:
    if k in (1, 2):
        return p
    if k == 3:
        return p + 1
    if k in (4, 5, 6):
        return _varint(b, p)[1]
    if k == 7:
        return p + 8
    if k == 8:
        n, p = _varint(b, p)
        return p + n
    if k in (9, 10):
        n, e, p = b[p] >> 4, b[p] & 15, p + 1
        if n == 15:
            n, p = _varint(b, p)
        for _ in range(n):
            p = p + 1 if e in (1, 2) else _skip(b, p, e)
        return p
    if k == 12:
        return _fields(b, p)[1]
    raise ValueError(k)


Field = tuple[int, int, int, int, int]  # id, type, header offset, value offset, end


def _fields(b: bytes, p: int) -> tuple[list[Field], int]:
    out: list[Field] = []
    last = 0
    while True:
        h, hp = b[p], p
        p += 1
        if h == 0:
            return out, p
        kind, delta = h & 15, h >> 4
        if delta == 0:
            z, p = _varint(b, p)
            fid = (z >> 1) ^ -(z & 1)
        else:
            fid = last + delta
        vp = p
        p = _skip(b, p, kind)
        out.append((fid, kind, hp, vp, p))
        last = fid


def _row_groups(data: bytes) -> tuple[int, bytes, list[list[Field]]]:
    """(footer offset in the file, footer, each row group's fields with footer offsets)."""
    n = int.from_bytes(data[-8:-4], "little")
    start, foot = len(data) - 8 - n, data[-8 - n : -8]
    (groups,) = [f for f in _fields(foot, 0)[0] if f[0] == 4]
    p, count = groups[3] + 1, foot[groups[3]] >> 4
    if count == 15:
        count, p = _varint(foot, p)
    out = []
    for _ in range(count):
        fields, p = _fields(foot, p)
        out.append(fields)
    return start, foot, out


def _retype(group: int, field: int) -> Callable[[bytes], bytes]:
    """Row group `group`'s field `field` given type i32 instead of i64 (same bytes, same length):
    a Thrift reader skips it as unknown, so a required field is missing."""

    def damage(data: bytes) -> bytes:
        start, _, groups = _row_groups(data)
        (f,) = [f for f in groups[group] if f[0] == field]
        out = bytearray(data)
        out[start + f[2]] = (out[start + f[2]] & 0xF0) | 5
        return bytes(out)

    return damage


def _write(path: Path, rows: int = 5000, group_rows: int = 1000) -> bytes:
    table = pa.table(
        {"question": [f"What is question number {i}?" for i in range(rows)], "answer": [str(i) for i in range(rows)]}
    )
    pq.write_table(table, path, row_group_size=group_rows)
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _fresh_opens() -> None:
    files._opened.cache_clear()


@pytest.mark.parametrize(("group", "field"), [(-1, 2), (-1, 3), (2, 2), (3, 3)])
def test_a_damaged_later_row_group_is_refused_as_a_full_open_refuses_it(tmp_path: Path, group: int, field: int) -> None:
    """Groups past the footer head (the first 1024 rows: groups 0 and 1 here) are walked, not
    parsed by pyarrow: their required fields are checked in the walk."""
    path = tmp_path / "train.parquet"
    path.write_bytes(_retype(group, field)(_write(path)))
    with pytest.raises((OSError, pa.ArrowException)):
        pq.ParquetFile(path)
    with pytest.raises(SeedDataError, match=r"train\.parquet"):
        files.count_rows(path, "parquet")


def test_the_plan_refuses_a_file_whose_later_row_group_is_damaged(ws: Workspace, tmp_path: Path) -> None:
    ws.build(Attack("task: attack\nformat: short_answer\nseed: {files: ../data/train.parquet, license: mit}\n"))
    path = ws.root / "data" / "train.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_retype(-1, 2)(_write(tmp_path / "good.parquet")))
    result = ws.plan()
    assert result.exit_code == 1, result.output
    assert "train.parquet" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("group", "field"),
    [(0, 2), (1, 2), (-1, 3)],
    ids=["first group", "second (kept) group", "later group without num_rows"],
)
def test_a_damaged_kept_row_group_fails_as_a_full_open_fails(tmp_path: Path, group: int, field: int) -> None:
    """s12 defect, fixed on attack12: the kept groups' footer was parsed by pyarrow's unpickling
    constructor, whose C++ exception on bytes it refuses aborted the process (`tsqa plan` died of
    SIGABRT, no message; main: `cannot read: Couldn't deserialize thrift`)."""
    path = tmp_path / "train.parquet"
    path.write_bytes(_retype(group, field)(_write(path, 5000, 600)))
    with pytest.raises((OSError, pa.ArrowException)):
        pq.ParquetFile(path)
    with pytest.raises(SeedDataError, match=r"train\.parquet"):
        files.count_rows(path, "parquet")
    with pytest.raises(SeedDataError, match=r"train\.parquet"):
        files._read_parquet(path, 8)


def _set_rows(group: int, delta_sign: bool) -> Callable[[bytes], bytes]:
    """Row group `group`'s num_rows with its zigzag sign flipped (1000 → -1001; same length)."""

    def damage(data: bytes) -> bytes:
        start, foot, groups = _row_groups(data)
        (f,) = [f for f in groups[group] if f[0] == 3]
        value = _varint(foot, f[3])[0] ^ (1 if delta_sign else 0)
        enc = bytearray()
        while value >= 0x80:
            enc.append((value & 0x7F) | 0x80)
            value >>= 7
        enc.append(value)
        assert len(enc) == f[4] - f[3]
        out = bytearray(data)
        out[start + f[3] : start + f[4]] = enc
        return bytes(out)

    return damage


@pytest.mark.parametrize("group", [0, 1, -1], ids=["first", "second", "last"])
def test_a_row_group_whose_num_rows_lies_reads_as_main_read_it(tmp_path: Path, group: int) -> None:
    """A negative row count in a group: the head keeps more groups; the count and the first rows
    are a full open's (the footer's own num_rows; the groups main's read took)."""
    path = tmp_path / "train.parquet"
    path.write_bytes(_set_rows(group, True)(_write(path, 5000, 1000)))
    full = pq.ParquetFile(path)
    assert files.count_rows(path, "parquet") == full.metadata.num_rows
    want: list[int] = []
    rows = 0
    while rows < 8 and len(want) < full.metadata.num_row_groups:
        rows += full.metadata.row_group(len(want)).num_rows
        want.append(len(want))
    try:
        expected: object = full.read_row_groups(want).slice(0, 8).to_pylist()
    except (OSError, pa.ArrowException):
        expected = SeedDataError
    if expected is SeedDataError:
        with pytest.raises(SeedDataError):
            files._read_parquet(path, 8)
    else:
        assert files._read_parquet(path, 8).to_pylist() == expected
