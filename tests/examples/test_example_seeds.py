"""The example's own seed folder (examples/local/seeds): every example spec reads its training rows
through the local data-dir reader and normalises them, every eval split its lm-eval task declares
has a file (decontamination references), and no training row is an eval row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.eval_store import EvalStore, fetch_eval
from tsqa.seeds.load import read_split
from tsqa.seeds.normalise import normalise
from tsqa.seeds.source import resolve_seed
from tsqa.spec.load import load_project, load_spec

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "examples" / "local" / "seeds"
SPECS = sorted((REPO / "specs").glob("*.yaml"))


@pytest.fixture(scope="module")
def project():  # type: ignore[no-untyped-def]
    loaded, diags = load_project(REPO / "examples" / "local" / "tsqa.yaml")
    assert loaded is not None, diags
    return loaded


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_example_spec_reads_twelve_training_rows_and_every_eval_split(path: Path, project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded, diags = load_spec(path, project)
    assert loaded is not None, diags
    spec = loaded.spec
    catalog = load_catalog()
    table = read_split(resolve_seed(spec, catalog), spec_dir=path.parent, data_dir=SEEDS)
    assert table.num_rows == 12
    result = normalise(spec, catalog.get(spec.seed.lm_eval), table)  # type: ignore[union-attr]
    assert result.failures == [] and len(result.records) == 12
    if spec.format == "multiple_choice":  # the answer is spread over positions, not one fixed slot
        assert all(r.answer_text == r.options[r.answer_index] for r in result.records)  # type: ignore[index]
        assert len({r.answer_index for r in result.records}) >= 2
    splits = fetch_eval(spec, catalog, EvalStore(tmp_path / "eval"), spec_dir=path.parent, data_dir=SEEDS)
    assert splits and all(s.rows for s in splits), [(s.split, s.rows) for s in splits]
    _, eval_texts = EvalStore(tmp_path / "eval").texts()
    assert not any(r.question in text for r in result.records for text in eval_texts)  # no eval row as seed
