"""File readers, the seed store and row counts; user errors name the file, line or column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from seed_helpers import FIXTURES, lm_eval_spec

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.errors import SeedDataError, SeedError, SeedNotFetched
from tsqa.seeds.load import read_split
from tsqa.seeds.source import resolve_seed
from tsqa.seeds.store import SeedStore, seed_rows_without_fetch
from tsqa.spec.models import TaskSpec


def files_spec(files: str | list[str], **seed: object) -> TaskSpec:
    return TaskSpec.model_validate({"task": "mine", "seed": {"files": files, **seed}, "format": "short_answer"})


def read(spec: TaskSpec, spec_dir: Path) -> pa.Table:
    return read_split(resolve_seed(spec, load_catalog()), spec_dir=spec_dir)


def test_jsonl_json_parquet_and_globs(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"question": "q1", "answer": "1"}\n\n{"question": "q2", "answer": "2"}\n')
    (tmp_path / "b.json").write_text('[{"question": "q3", "answer": "3"}]')
    pq.write_table(pa.table({"question": ["q4"], "answer": ["4"]}), tmp_path / "c.parquet")
    table = read(files_spec(["a.jsonl", "b.json", "*.parquet"]), tmp_path)
    assert table.column("question").to_pylist() == ["q1", "q2", "q3", "q4"]
    assert seed_rows_without_fetch(files_spec(["a.jsonl", "b.json", "*.parquet"]), tmp_path) == 4
    assert seed_rows_without_fetch(files_spec("*.parquet", limit=1), tmp_path) == 1
    assert seed_rows_without_fetch(lm_eval_spec("arc_easy"), tmp_path) is None


CASES = {
    "missing file": ("missing.jsonl", None, r"file not found: .*missing\.jsonl"),
    "broken line": ("bad.jsonl", '{"question": "ok"}\n{"question": oops}\n', r"bad\.jsonl:2: invalid JSON"),
    "not an object": ("list.jsonl", "[1, 2]\n", r"list\.jsonl:1: expected a JSON object"),
    "mixed column": (
        "mixed.jsonl",
        '{"answer": 1}\n{"answer": {"x": 1}}\n',
        r"mixed\.jsonl: column 'answer' has values of different types \(first differing at .*mixed\.jsonl:2\)",
    ),
    "bad parquet": ("bad.parquet", "not parquet", r"bad\.parquet: not a readable Parquet file"),
    "unknown format": ("data.csv", "a,b\n", r"unknown file format '\.csv'"),
}


@pytest.mark.parametrize(("name", "content", "message"), CASES.values(), ids=CASES.keys())
def test_user_errors_name_the_file_and_line(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(SeedError, match=message):
        read(files_spec(name), tmp_path)


def test_store_round_trip_and_identity(tmp_path: Path) -> None:
    store = SeedStore(tmp_path / "store")
    spec = lm_eval_spec("arc_easy")
    assert store.meta(spec) is None
    with pytest.raises(SeedNotFetched, match="tsqa seeds fetch"):
        store.read(spec)
    seed = resolve_seed(spec, load_catalog())
    table = read_split(seed, spec_dir=tmp_path, data_dir=FIXTURES)
    store.write(seed, table, license="cc-by-sa-4.0", license_source="spec")
    meta = store.meta(spec)
    assert meta is not None and (meta.rows, meta.split, meta.license) == (3, "train", "cc-by-sa-4.0")
    assert "answerKey" in meta.columns and "allenai/ai2_arc" in meta.source
    assert store.read(spec).num_rows == 3 and store.read(spec, limit=2).num_rows == 2
    assert store.read(lm_eval_spec("arc_easy", limit=1)).num_rows == 1
    # arc_challenge reads other data: not fetched; a corrupt meta.json is a clear error
    assert store.meta(lm_eval_spec("arc_challenge")) is None
    (store.folder(seed) / "meta.json").write_text("{")
    with pytest.raises(SeedDataError, match=r"meta\.json: unreadable"):
        store.meta(spec)


def test_hub_read_passes_only_the_training_files_and_revision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tsqa.seeds.load as load_module

    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(load_module, "read_hub_split", lambda *a, **k: calls.append((*a, k)) or pa.table({"x": [1]}))
    seed = resolve_seed(lm_eval_spec("indicxnli_gu"), load_catalog())
    read_split(seed, spec_dir=tmp_path)
    ((_, _, split, kwargs),) = calls
    assert (split, kwargs["revision"], kwargs["data_files"]) == (
        "train",
        "refs/convert/parquet",
        "gu/train/0000.parquet",
    )
