"""`tsqa export megatron|hf`: read back with megatron-core's own reader and datasets.load_dataset."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_fixture import build_run

from tsqa.cli import main
from tsqa.export.megatron import megatron_weights
from tsqa.testing.tiny_model import build_tokenizer


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tok")
    build_tokenizer(folder)  # character-level: token count = characters, easy to check
    return folder


def _packaged_texts(run: Path, task: str) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(run / "datasets" / task / "part-00000.parquet").column("text").to_pylist()


def test_megatron_export_reads_back_with_megatron_core(run: Path, tokenizer: Path, tmp_path: Path) -> None:
    pytest.importorskip("megatron.core", reason="pip install megatron-core")
    from tokenizers import Tokenizer

    out = tmp_path / "mg"
    result = CliRunner().invoke(main, ["export", "megatron", str(run), "--tokenizer", str(tokenizer), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset

    tok = Tokenizer.from_file(str(tokenizer / "tokenizer.json"))
    eod = tok.token_to_id("</s>")
    blend = json.loads((out / "megatron_blend.json").read_text())
    for task in ("mcq", "short"):
        texts = _packaged_texts(run, task)
        dataset = IndexedDataset(str(out / f"{task}_text_document"))
        assert len(dataset) == len(texts) and len(dataset.document_indices) == len(texts) + 1
        for i in (0, len(texts) - 1):
            assert dataset[i].tolist() == [*tok.encode(texts[i], add_special_tokens=False).ids, eod]
        entry = next(e for e in blend["tasks"] if e["task"] == task)
        assert entry["tokens"] == int(dataset.sequence_lengths.sum()) and entry["documents"] == len(texts)
    # Weights: blend.weight (mcq 1.0, short 2.0) times tokens, normalised to 1.
    tokens = {e["task"]: e["tokens"] for e in blend["tasks"]}
    expected = 2.0 * tokens["short"] / (1.0 * tokens["mcq"] + 2.0 * tokens["short"])
    assert next(e for e in blend["tasks"] if e["task"] == "short")["megatron_weight"] == pytest.approx(expected)
    data_path = (out / "data_path.txt").read_text().split()
    assert len(data_path) == 4 and sum(float(w) for w in data_path[::2]) == pytest.approx(1.0)
    assert all(Path(p + ".bin").is_file() and Path(p + ".idx").is_file() for p in data_path[1::2])


def test_megatron_weights() -> None:
    assert megatron_weights([1.0, 1.0], [300, 100]) == [0.75, 0.25]  # natural mix
    assert megatron_weights([1.0, 3.0], [300, 100]) == [0.5, 0.5]  # short task upsampled 3x
    assert megatron_weights([1.0], [0]) == [0.0]


def test_hf_export_loads_with_datasets_one_config_per_task(run: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    result = CliRunner().invoke(main, ["export", "hf", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and 'config_name: "mcq"' in card and 'config_name: "short"' in card
    mcq = datasets.load_dataset(str(out), "mcq", split="train")
    short = datasets.load_dataset(str(out), "short", split="train")
    assert mcq.num_rows == 80 and short.num_rows == 24
    assert mcq[0]["text"] == _packaged_texts(run, "mcq")[0] and len(mcq[0]["options"]) == 4
    assert set(mcq.unique("license")) == {"cc-by-4.0"}


def test_license_filter_exports_only_compatible_tasks(run: Path, tokenizer: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf-mit"
    result = CliRunner().invoke(main, ["export", "hf", str(run), "-o", str(out), "--license", "MIT"])
    assert result.exit_code == 0, result.output
    assert "mcq: left out (licence cc-by-4.0 not in --license mit)" in result.output
    assert not (out / "mcq").exists() and 'config_name: "mcq"' not in (out / "README.md").read_text()
    assert datasets.load_dataset(str(out), "short", split="train").num_rows == 24
    pytest.importorskip("megatron.core", reason="pip install megatron-core")
    mg = tmp_path / "mg-mit"
    result = CliRunner().invoke(
        main, ["export", "megatron", str(run), "--tokenizer", str(tokenizer), "-o", str(mg), "--license", "mit"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in mg.glob("*.idx")) == ["short_text_document.idx"]
    assert json.loads((mg / "megatron_blend.json").read_text())["tasks"][0]["megatron_weight"] == 1.0


def test_not_a_run_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "hf", str(tmp_path)])
    assert result.exit_code == 1 and "blend.json: not found" in result.output
