"""Every way of pointing a seed at eval data is refused by the loader itself, before any read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from seed_helpers import FIXTURES

from tsqa.seeds import load as load_module
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.errors import EvalSplitRefused
from tsqa.seeds.load import read_split
from tsqa.seeds.source import resolve_seed
from tsqa.seeds.store import SeedStore
from tsqa.spec.models import TaskSpec


def spec(seed: dict[str, Any], fmt: str = "multiple_choice") -> TaskSpec:
    return TaskSpec.model_validate({"task": "t", "seed": seed, "format": fmt})


@pytest.fixture
def no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to read data fails the test: refusal must come first."""

    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("data was read before the guard refused it")

    monkeypatch.setattr(load_module, "read_files", boom)
    monkeypatch.setattr(load_module, "read_hub_split", boom)


REFUSED = {
    # split name, and its aliases and spellings
    "lm_eval test": {"lm_eval": "arc_easy", "split": "test"},
    "lm_eval validation": {"lm_eval": "arc_easy", "split": "validation"},
    "lm_eval dev alias": {"lm_eval": "arc_easy", "split": "dev"},
    "lm_eval upper case": {"lm_eval": "arc_easy", "split": "TEST"},
    "lm_eval slice": {"lm_eval": "arc_easy", "split": "test[:50%]"},
    "lm_eval union": {"lm_eval": "arc_easy", "split": "train+validation"},
    "lm_eval other split": {"lm_eval": "arc_easy", "split": "extra"},
    # the task's own "training" split is its test split
    "training split is test": {"lm_eval": "gpqa_main_zeroshot"},
    "training split is test, named": {"lm_eval": "gpqa_main_zeroshot", "split": "train"},
    "no training split": {"lm_eval": "mmlu_anatomy"},
    # the same data reached as a hub dataset
    "hf dataset lm-eval tests on": {"hf": {"path": "Idavidrein/gpqa", "name": "gpqa_main", "split": "train"}},
    "hf eval split of a task's dataset": {"hf": {"path": "allenai/ai2_arc", "name": "ARC-Easy", "split": "validation"}},
    "hf re-upload alias": {"hf": {"path": "tinyBenchmarks/tinyAI2_arc", "name": "ARC-Easy", "split": "validation"}},
    "hf eval-named split": {"hf": {"path": "someone/private", "split": "validation_matched"}},
    "hf val alias": {"hf": {"path": "someone/private", "split": "val"}},
    # files
    "files split name": {"files": "arc/train.jsonl", "split": "test"},
    "files named validation": {"files": "arc/validation.jsonl"},
    "files glob reaching validation": {"files": "arc/*.jsonl"},
    "files hf shard name": {"files": "data/test-00000-of-00001.parquet"},
    "files eval folder": {"files": "dev/train.jsonl"},
}


@pytest.mark.usefixtures("no_reads")
@pytest.mark.parametrize("seed", REFUSED.values(), ids=REFUSED.keys())
def test_eval_data_is_refused_at_the_loader(seed: dict[str, Any]) -> None:
    s = spec(seed)
    with pytest.raises(EvalSplitRefused):
        read_split(resolve_seed(s, load_catalog()), spec_dir=FIXTURES, data_dir=FIXTURES)


def test_training_split_reads(tmp_path: Path) -> None:
    table = read_split(
        resolve_seed(spec({"lm_eval": "arc_easy"}), load_catalog()), spec_dir=tmp_path, data_dir=FIXTURES
    )
    assert table.num_rows == 3 and "answerKey" in table.column_names


def test_hf_streaming_reads_only_the_training_files(tmp_path: Path) -> None:
    # A local dataset folder whose test file is not even JSON: only train may be opened.
    (tmp_path / "train.jsonl").write_text((FIXTURES / "piqa" / "train.jsonl").read_text())
    (tmp_path / "test.jsonl").write_text("{not json\n")
    s = spec({"hf": {"path": str(tmp_path), "split": "train"}})
    table = read_split(resolve_seed(s, load_catalog()), spec_dir=tmp_path)
    assert table.num_rows == 3


def test_store_refuses_a_hand_made_snapshot_of_eval_data(tmp_path: Path) -> None:
    store = SeedStore(tmp_path / "store")
    s = spec({"hf": {"path": "someone/data", "split": "test"}})
    seed = resolve_seed(s, load_catalog())
    store.write(seed, pa.table({"question": ["q"]}), license=None, license_source=None)  # bypassing fetch
    with pytest.raises(EvalSplitRefused):
        store.read(s)


def test_messages_name_the_task_and_split() -> None:
    with pytest.raises(EvalSplitRefused, match=r"task 't'.*'gpqa_main_zeroshot' uses its eval split 'train'"):
        read_split(resolve_seed(spec({"lm_eval": "gpqa_main_zeroshot"}), load_catalog()), spec_dir=FIXTURES)
    assert json.loads((FIXTURES / "sources.json").read_text())  # the data-dir index the tests rely on


def test_a_leading_double_slash_is_still_a_system_path() -> None:
    # POSIX normpath keeps a leading "//"; the kernel reads it as "/", so it must match /proc.
    from tsqa.seeds.guard import system_path

    assert system_path(Path("//proc/self/root/etc/passwd")) is not None
    assert system_path(Path("///dev/zero")) is not None
