"""Eval splits are read only into the eval store, as text, for decontamination."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.eval_store import EvalStore, fetch_eval
from tsqa.spec.models import TaskSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


def test_fetch_eval_stores_the_task_eval_splits_as_text(tmp_path: Path) -> None:
    spec = TaskSpec.model_validate({"task": "arc_easy", "seed": {"lm_eval": "arc_easy"}, "format": "multiple_choice"})
    store = EvalStore(tmp_path / "eval")
    splits = fetch_eval(spec, load_catalog(), store, spec_dir=tmp_path, data_dir=FIXTURES)
    assert {(s.split, s.rows is None) for s in splits} == {
        ("validation", False),
        ("test", True),
    }  # fixtures: no test file
    table = pq.read_table(store.splits()[0])
    assert table.column_names == ["id", "text"]
    validation = (FIXTURES / "arc" / "validation.jsonl").read_text().splitlines()
    assert table.num_rows == len(validation)
    ids, texts = store.texts()
    assert ids[0].endswith(":validation:0") and texts[0]


def test_files_seeds_have_no_eval_split_to_fetch(tmp_path: Path) -> None:
    spec = TaskSpec.model_validate({"task": "t", "seed": {"files": "a.jsonl"}, "format": "short_answer"})
    assert fetch_eval(spec, load_catalog(), EvalStore(tmp_path), spec_dir=tmp_path) == []
