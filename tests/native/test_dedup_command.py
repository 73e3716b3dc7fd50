"""`tsqa dedup`: output rows, annotations, index round trip, and user errors (exit 1, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tsqa.curate.dedup_command import dedup

ROWS = [
    "What is 2+2? The answer is 4.",
    "what is 2 + 2?  The answer is 4",
    "Name the largest planet in our solar system, please. Jupiter is the answer here.",
    "Name the largest planet in our solar system please. Jupiter is the answer here, I think!!",
    "Name the largest planet in our solar system, please. Saturn is the answer here.",
    "",
    "",
    "A unique question about rivers and lakes",
]


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"id": list(range(len(ROWS))), "text": ROWS, "n": list(range(len(ROWS)))}), path, row_group_size=3
    )
    return path


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(dedup, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_drops_duplicates_and_summarises(parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    code, text = run(parquet, "-o", out, "--ngram", "3")
    assert code == 0, text
    assert pq.read_table(out).column("id").to_pylist() == [0, 2, 4, 5, 7]
    assert "Kept 5 of 8 records (2 exact duplicates, 1 near duplicates at threshold 0.8, 0 matching the index)" in text


def test_annotate_keeps_every_row(parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    code, _ = run(parquet, "-o", out, "--ngram", "3", "--annotate", "--no-exact")
    assert code == 0
    t = pq.read_table(out)
    assert t.num_rows == 8
    assert t.column("duplicate_of").to_pylist() == [-1, 0, -1, 2, -1, -1, -1, -1]
    assert t.column("is_duplicate").to_pylist() == [False, True, False, True, False, False, False, False]


def test_saved_index_dedups_a_later_run(parquet: Path, tmp_path: Path) -> None:
    idx = tmp_path / "kept.mhx"
    code, _ = run(parquet, "-o", tmp_path / "a.parquet", "--ngram", "3", "--save-index", idx)
    assert code == 0 and idx.exists()
    code, text = run(parquet, "-o", tmp_path / "b.parquet", "--ngram", "3", "--against", idx)
    assert code == 0
    assert pq.read_table(tmp_path / "b.parquet").column("id").to_pylist() == [5]  # only the empty row is never indexed
    code, text = run(parquet, "-o", tmp_path / "c.parquet", "--ngram", "4", "--against", idx)
    assert code == 1 and "ngram=word:3 but ngram=word:4" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "body"], "no column 'body'; columns: id, text, n"),
        (["--column", "n"], "column 'n' has type int64; dedup needs a string column"),
        (["--threshold", "1.5"], "invalid threshold=1.5"),
        (["--ngram", "0"], "invalid ngram=0"),
        (["--threads", "0"], "invalid threads=0"),
    ],
)
def test_user_errors_exit_1_without_traceback(parquet: Path, tmp_path: Path, args: list[str], message: str) -> None:
    code, text = run(parquet, "-o", tmp_path / "o.parquet", *args)
    assert code == 1
    assert message in text and "Traceback" not in text


def test_missing_file_nulls_and_garbage(tmp_path: Path) -> None:
    code, text = run(tmp_path / "missing.parquet", "-o", tmp_path / "o.parquet")
    assert code == 1 and "no such file" in text
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["a", None, "b"]}), nulls)
    code, text = run(nulls, "-o", tmp_path / "o.parquet")
    assert code == 1 and "null at row 1" in text
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    code, text = run(garbage, "-o", tmp_path / "o.parquet")
    assert code == 1 and "not a readable Parquet file" in text
