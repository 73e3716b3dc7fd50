"""Golden tests: tsqa's normalised records against lm-eval's own task objects, field by field.

Both sides read the same fixture files: lm-eval through a ConfigurableTask cloned from the
registry's config with `dataset_path: json` and `data_files` pointing at the fixtures (built
offline), tsqa through `read_split` with the fixture folder as its local data dir.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from seed_helpers import FIXTURES, GOLDEN_TASKS, lm_eval_spec

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.letters import letters_of
from tsqa.seeds.load import read_split
from tsqa.seeds.normalise import normalise
from tsqa.seeds.source import resolve_seed

# Where the option texts of letter-only tasks live, per task, to check the mapping independently.
LETTER_TEXTS = {
    "commonsense_qa": lambda doc: doc["choices"]["text"],
    "medmcqa": lambda doc: [doc["opa"], doc["opb"], doc["opc"], doc["opd"]],
}
FIXED_GOLD = {"sciq"}  # lm-eval's target is always the last option: tsqa shuffles


@pytest.fixture(scope="session")
def lm_tasks(task_manager: Any) -> dict[str, Any]:
    import datasets

    datasets.disable_progress_bars()
    built = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # third-party deprecations while building lm-eval tasks
        for name, family in GOLDEN_TASKS.items():
            files = {s: str(FIXTURES / family / f"{s}.jsonl") for s in ("train", "validation")}
            overrides = {
                "dataset_path": "json",
                "dataset_name": None,
                "dataset_kwargs": {"data_files": files},
                "training_split": "train",
                "validation_split": "validation",
                "test_split": None,
                "fewshot_split": None,
            }
            built[name] = task_manager._factory._build_task(task_manager.task_index[name], overrides=overrides)
    return built


@pytest.mark.parametrize("name", sorted(GOLDEN_TASKS))
def test_records_match_lm_eval(name: str, lm_tasks: dict[str, Any]) -> None:
    task = lm_tasks[name]
    lm_docs = list(task.training_docs())
    catalog = load_catalog()
    spec = lm_eval_spec(name)
    table = read_split(resolve_seed(spec, catalog), spec_dir=FIXTURES, data_dir=FIXTURES)
    result = normalise(spec, catalog.get(name), table)
    assert result.failures == []
    assert len(result.records) == len(lm_docs) >= 3
    for rec, doc in zip(result.records, lm_docs, strict=True):
        text = task.doc_to_text(doc)
        choices = task.doc_to_choice(doc) if task.config.doc_to_choice is not None else None
        target = task.doc_to_target(doc)
        if choices is None:  # generative: the target, or every target
            assert rec.options is None
            if isinstance(target, list):
                assert rec.answer_aliases == tuple(target) and rec.answer_text == target[0]
            else:
                assert rec.answer_text == target
            assert rec.question == text
            continue
        if isinstance(text, int):  # multiple input: each filled-in question is lm-eval's context + target
            assert rec.answer_index == text
            for i, option in enumerate(rec.options or ()):
                assert rec.question.replace("___", option) == choices[i] + task.config.target_delimiter + target
            continue
        assert rec.question == text
        letters = letters_of(choices)
        expected_options = LETTER_TEXTS[name](doc) if name in LETTER_TEXTS else choices
        assert letters is None or name in LETTER_TEXTS
        gold = choices.index(target) if isinstance(target, str) else target
        assert rec.answer_text == expected_options[gold]
        if name in FIXED_GOLD:
            assert sorted(rec.options or ()) == sorted(expected_options)
        else:
            assert list(rec.options or ()) == list(expected_options)
            assert rec.answer_index == gold


def test_fixed_gold_position_is_shuffled_reproducibly() -> None:
    catalog = load_catalog()
    spec = lm_eval_spec("sciq")
    table = read_split(resolve_seed(spec, catalog), spec_dir=FIXTURES, data_dir=FIXTURES)
    first = normalise(spec, catalog.get("sciq"), table)
    again = normalise(spec, catalog.get("sciq"), table)
    assert first.records == again.records
    # lm-eval always puts the gold answer last; the shuffled positions must not all be last.
    assert {r.answer_index for r in first.records} != {3}
    assert all(r.options is not None and r.options[r.answer_index] == r.answer_text for r in first.records)
