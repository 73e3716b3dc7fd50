"""The catalogue against the installed lm-eval registry, and the shipped snapshot against both."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from tsqa.seeds.catalog import (
    SNAPSHOT_PATH,
    Catalog,
    CatalogError,
    dump_snapshot,
    load_catalog,
    read_snapshot,
)
from tsqa.seeds.groups import SEED_GROUPS, family_group, family_groups


def test_snapshot_is_build_catalog_of_installed_lm_eval(installed_catalog: Catalog) -> None:
    # Fails after an lm-eval upgrade until the snapshot is regenerated: python -m tsqa.seeds.catalog
    assert SNAPSHOT_PATH.read_text(encoding="utf-8") == dump_snapshot(installed_catalog)
    assert load_catalog().to_json() == installed_catalog.to_json()


def test_counts_match_registry(installed_catalog: Catalog, task_manager: Any, training_configs: dict) -> None:
    counts = load_catalog().counts()
    assert counts.tasks == len(training_configs)
    assert dict(counts.by_output_type) == dict(
        Counter(c.get("output_type") or "generate_until" for c in training_configs.values())
    )
    assert counts.leaf_tasks == len(task_manager.all_subtasks)
    assert load_catalog().all_names == set(task_manager.all_subtasks)


def _independently_usable(cfg: dict[str, Any]) -> bool:
    """Exclusion rules restated from the raw config, to check the catalogue's verdicts."""
    train = cfg["training_split"]
    files = (cfg.get("dataset_kwargs") or {}).get("data_files") or {}
    files = files.values() if isinstance(files, dict) else [files]
    return (
        train not in (cfg.get("validation_split"), cfg.get("test_split"))
        and bool(cfg.get("dataset_path"))
        and not cfg.get("custom_dataset")
        and not any(isinstance(f, str) and os.path.isabs(f) for f in files)
        and "doc_to_image" not in cfg
        and "doc_to_audio" not in cfg
    )


def test_usable_tasks_match_rules_restated_on_registry(training_configs: dict) -> None:
    expected = {n for n, c in training_configs.items() if _independently_usable(c)}
    assert {t.name for t in load_catalog() if t.usable} == expected


@pytest.mark.parametrize(
    "name",
    [
        "gpqa_main_zeroshot",
        "gpqa_diamond_cot_n_shot",
        "leaderboard_gpqa_main",
        "aime",
        "aime24",
        "aime25",
        "gsm8k_platinum",
        "gsm8k_platinum_cot_zeroshot",
        "gsm_plus",
        "gsm_plus_mini",
    ],
)
def test_eval_split_as_training_split_is_excluded(name: str) -> None:
    task = load_catalog().get(name)
    assert task is not None and task.training_split is not None
    assert task.training_split in task.eval_splits
    assert task.excluded is not None and "is also the" in task.excluded
    assert not task.usable


def test_every_gpqa_task_is_excluded() -> None:
    gpqa = list(load_catalog().filter(family="gpqa"))
    assert gpqa and all(not t.usable for t in gpqa)


@pytest.mark.parametrize("name", ["mmlu_anatomy", "race", "mbpp"])
def test_task_without_training_split_is_known_with_reason(name: str) -> None:
    task = load_catalog().get(name)
    assert task is not None
    assert task.training_split is None and task.excluded == "no training split"
    assert task.eval_splits  # the splits a spec must not use are still known
    assert name not in {t.name for t in load_catalog()}  # iteration covers training tasks only


def test_mmlu_anatomy_stub_keeps_its_splits() -> None:
    task = load_catalog().get("mmlu_anatomy")
    assert task is not None
    assert (task.family, task.dataset_path, task.dataset_name, task.test_split) == (
        "mmlu",
        "cais/mmlu",
        "anatomy",
        "test",
    )


def test_unknown_task_is_none() -> None:
    assert load_catalog().get("no_such_task_anywhere") is None
    assert "no_such_task_anywhere" not in load_catalog()


def test_special_exclusions() -> None:
    cat = load_catalog()
    assert "custom dataset loader" in (cat.get("cieacova_choice").excluded or "")  # type: ignore[union-attr]
    assert "multimodal" in (cat.get("common_voice_en").excluded or "")  # type: ignore[union-attr]


def test_arc_easy_record() -> None:
    t = load_catalog().get("arc_easy")
    assert t is not None and t.usable
    assert (t.family, t.dataset_path, t.dataset_name, t.training_split) == (
        "arc",
        "allenai/ai2_arc",
        "ARC-Easy",
        "train",
    )
    assert t.eval_splits == {"validation", "test"}
    assert t.columns is not None and {"question", "choices", "answerKey"} <= t.columns
    assert t.output_type == "multiple_choice" and t.language == "en"
    assert not t.letter_only_choices and not t.multiple_input and t.function_fields == ()


def test_flags() -> None:
    cat = load_catalog()
    assert cat.get("commonsense_qa").letter_only_choices  # type: ignore[union-attr]
    wino = cat.get("winogrande")
    assert wino is not None and wino.multiple_input and wino.columns is None
    assert set(wino.function_fields) == {"doc_to_text", "doc_to_choice", "doc_to_target"}
    assert not cat.get("piqa").multiple_input  # type: ignore[union-attr]
    assert cat.get("hellaswag").has_process_docs  # type: ignore[union-attr]


def test_math_is_one_source_in_three_families() -> None:
    cat = load_catalog()
    dups = set(cat.duplicates("hendrycks_math_algebra"))
    assert {"minerva_math_algebra", "leaderboard_math_algebra_hard"} <= dups
    assert cat.duplicates("arc_easy") == ()


def test_filters() -> None:
    cat = load_catalog()
    assert {t.family for t in cat.filter(family="okapi")} == {"okapi"}
    mc = cat.filter(output_type="multiple_choice", usable_only=True)
    assert mc and all(t.output_type == "multiple_choice" and t.usable for t in mc)
    assert all(t.language == "en" for t in cat.filter(lang="en"))
    assert {family_group(t.family) for t in cat.filter(group="reasoning")} == {"reasoning"}
    assert len(cat.filter(family="no_such_family")) == 0


def test_every_usable_family_has_exactly_one_seed_group() -> None:
    cat = load_catalog()
    usable = {t.family for t in cat if t.usable}
    mapped = family_groups()
    assert usable <= set(mapped), sorted(usable - set(mapped))
    # No stale entries: every listed family still has usable tasks.
    assert set(mapped) <= usable, sorted(set(mapped) - usable)
    assert set(mapped.values()) == set(SEED_GROUPS)
    assert family_group("mmlu") is None


def test_load_is_cached() -> None:
    # Load time is measured in benchmarks/lint (lint loads the catalogue), never asserted here.
    assert len(read_snapshot(SNAPSHOT_PATH)) == len(load_catalog())
    assert load_catalog() is load_catalog()


def test_missing_or_foreign_snapshot_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(CatalogError, match="not found"):
        read_snapshot(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(CatalogError, match="format 99"):
        read_snapshot(bad)
