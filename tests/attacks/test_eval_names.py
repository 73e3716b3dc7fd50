"""Class: eval data reached by a name. Split names, file and folder names, dataset ids, in every
spelling (lm-eval's own eval split names, separators, case, look-alike Unicode letters), are refused
by lint and by fetch before a row is read."""

from __future__ import annotations

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

SPLITS = [
    "test", "TEST", "Test", "validation", "valid", "val", "dev", "eval", "evaluation", "heldout",
    "held_out", "held-out", "holdout", "testing", "tests", "validation_matched", "validation_mismatched",
    "testmini", "devtest", "test_hasAns", "valid_hasAns", "dev_r1", "test_r3", "reduced_test", "full_eval",
    "train+test", "train[:10%]+validation", "test[:50%]", "train+ dev",
    "tеst",  # Cyrillic е
    "ｔｅｓｔ",  # fullwidth
    "te\u200bst",  # zero-width space
    "tést",  # combining accent
    "vаlidation",  # Cyrillic а
    "𝐭𝐞𝐬𝐭",  # mathematical bold
    "evalSet", "TestSet", "val_data",
]  # fmt: skip


def _q(text: str) -> str:
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


@pytest.mark.parametrize("split", SPLITS)
def test_files_seed_split_named_like_eval(ws: Workspace, split: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\nseed: {{files: ../data/train.jsonl, split: {_q(split)}, license: mit}}\n",
            {"data/train.jsonl": TRAIN_ROWS},
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.parametrize("split", SPLITS[::3])
def test_hf_seed_split_named_like_eval(ws: Workspace, split: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\nseed: {{hf: {{path: someone/quiz, split: {_q(split)}}}, license: mit}}\n"
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.parametrize("split", ["test", "validation", "dev", "TRAIN", "train+test", "tеst", "extra"])
def test_lm_eval_seed_split_other_than_training(ws: Workspace, split: str) -> None:
    ws.build(Attack(f"task: attack\nformat: multiple_choice\nseed: {{lm_eval: arc_easy, split: {_q(split)}}}\n"))
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


FILE_NAMES = [
    "test.jsonl", "TEST.jsonl", "validation.jsonl", "dev.jsonl", "val.jsonl", "gsm8k-test.jsonl",
    "gsm8k_test.jsonl", "eval_set.jsonl", "val_data.jsonl", "evaluation_data/train.jsonl",
    ".test.jsonl", "train.test.jsonl", "data.dev.jsonl", "dev/x.jsonl", "TestSet.jsonl",
    "validation-00000-of-00001.parquet", "test-00000-of-00002.jsonl", "tеst.jsonl", "ｔｅｓｔ.jsonl",
    "heldout/train.jsonl", "held-out/a.jsonl", "testmini.jsonl", "devtest.jsonl", "arc/test_hasAns.jsonl",
    "splits/eval/train.jsonl", "Evaluation/Train.jsonl", "my-val-split.jsonl", "test1.jsonl",
    "v\u200bal.jsonl", "holdout.jsonl",
]  # fmt: skip


@pytest.mark.parametrize("name", FILE_NAMES)
def test_files_seed_named_like_eval(ws: Workspace, name: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\nseed: {{files: {_q('../data/' + name)}, file_format: jsonl, license: mit}}\n",
            {f"data/{name}": TRAIN_ROWS},
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


GLOBS = {
    "star reaching test.jsonl": ("../data/*.jsonl", {"data/train.jsonl": TRAIN_ROWS, "data/test.jsonl": TRAIN_ROWS}),
    "recursive reaching eval folder": (
        "../data/**/*.jsonl",
        {"data/train.jsonl": TRAIN_ROWS, "data/eval/part.jsonl": TRAIN_ROWS},
    ),
    "list with one eval file": (
        ["../data/train.jsonl", "../data/dev.jsonl"],
        {"data/train.jsonl": TRAIN_ROWS, "data/dev.jsonl": TRAIN_ROWS},
    ),
    "character class": ("../data/[tv]*.jsonl", {"data/valid.jsonl": TRAIN_ROWS}),
    "question mark": ("../data/va?.jsonl", {"data/val.jsonl": TRAIN_ROWS}),
}


@pytest.mark.parametrize(("pattern", "files"), GLOBS.values(), ids=GLOBS.keys())
def test_globs_reaching_eval_files(ws: Workspace, pattern: object, files: dict[str, str]) -> None:
    value = pattern if isinstance(pattern, str) else "[" + ", ".join(pattern) + "]"  # type: ignore[arg-type]
    ws.build(Attack(f"task: attack\nformat: short_answer\nseed: {{files: {value!s}, license: mit}}\n", files))
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


HUB = {
    "gpqa, case": "{path: Idavidrein/GPQA, name: gpqa_main}",
    "gpqa, trailing slash": "{path: Idavidrein/gpqa/, name: gpqa_main}",
    "gpqa, hf://": "{path: 'hf://Idavidrein/gpqa', name: gpqa_main}",
    "gpqa, hf://datasets/": "{path: 'hf://datasets/Idavidrein/gpqa', name: gpqa_main}",
    "gpqa, datasets/ prefix": "{path: datasets/Idavidrein/gpqa, name: gpqa_main}",
    "gpqa, double slash": "{path: 'Idavidrein//gpqa', name: gpqa_main}",
    "gpqa, url": "{path: 'https://huggingface.co/datasets/Idavidrein/gpqa', name: gpqa_main}",
    "gpqa, no config": "{path: Idavidrein/gpqa}",
    "gpqa, default config": "{path: Idavidrein/gpqa, name: default}",
    "arc test, case and slash": "{path: AllenAI/AI2_ARC/, name: ARC-Easy, split: test}",
    "arc validation, re-upload": "{path: tinyBenchmarks/tinyAI2_arc, name: ARC-Easy, split: validation}",
    "arc test, config case": "{path: allenai/ai2_arc, name: arc-easy, split: test}",
    "hub id named like eval": "{path: someone/gsm8k-test}",
    "hub id eval set": "{path: someone/my_eval_set}",
    "hub id look-alike": "{path: someone/gsm8k-tеst}",
    "hub id validation org": "{path: validation/quiz}",
    "gsm8k test, upper": "{path: OPENAI/GSM8K, name: main, split: test}",
    "hellaswag validation": "{path: Rowan/HellaSwag, split: validation}",
}


@pytest.mark.parametrize("hf", HUB.values(), ids=HUB.keys())
def test_hub_ids_that_name_eval_data(ws: Workspace, hf: str) -> None:
    ws.build(Attack(f"task: attack\nformat: multiple_choice\nseed: {{hf: {hf}, license: mit}}\n"))
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.parametrize("name", ["test", "validation", "dev_set", "eval", "tеst"])
def test_hub_config_named_like_eval(ws: Workspace, name: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: multiple_choice\nseed: {{hf: {{path: someone/quiz, name: {_q(name)}}}, license: mit}}\n"
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


# attack9 2c/2d: case games, separators inside a word, Cyrillic letters outside the confusables
# mapping, run-together words, %-encoding, leetspeak, and the spec's own folder.
BYPASSES = [
    "hElDoUt", "eVaLuAtIoN", "tEsTiNg", "t-e-s-t", "t e s t", "\u0442est", "gsm8ktest", "validationset",
    "devtestset", "testcases", "%74est", "%2574est", "t3st", "v4l1d4t10n",
]  # fmt: skip
NOT_EVAL = [
    "contest", "attestation", "latest", "protest", "interval", "devices", "develop", "2latest", "evidence",
    "travel", "train", "gsm8k", "ai2_arc", "ARC-Easy", "train-00000-of-00001", "mmlu5shot", "data_set",
]  # fmt: skip


@pytest.mark.parametrize("name", BYPASSES)
def test_eval_word_sees_through_spelling(name: str) -> None:
    from tsqa.seeds.names import eval_word

    assert eval_word(name) is not None
    assert eval_word(f"{name}.jsonl") is not None


@pytest.mark.parametrize("name", NOT_EVAL)
def test_ordinary_words_are_not_eval_names(name: str) -> None:
    from tsqa.seeds.names import eval_word

    assert eval_word(name) is None
    assert eval_word(f"data/{name}.jsonl") is None


@pytest.mark.parametrize("name", ["hElDoUt", "t-e-s-t", "\u0442est", "gsm8ktest", "testcases", "t3st"])
@pytest.mark.parametrize("where", ["file", "folder", "split"])
def test_spelling_bypasses_refused_by_lint_and_fetch(ws: Workspace, name: str, where: str) -> None:
    path = {"file": f"data/{name}.jsonl", "folder": f"data/{name}/train.jsonl", "split": "data/train.jsonl"}[where]
    split = f", split: {_q(name)}" if where == "split" else ""
    spec = f"task: attack\nformat: short_answer\nseed: {{files: {_q('../' + path)}{split}, license: mit}}\n"
    ws.build(Attack(spec, {path: TRAIN_ROWS}))
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.parametrize("folder", ["evaluation_data", "test", "specs/heldOut"])
def test_spec_folder_named_like_eval(ws: Workspace, folder: str) -> None:
    """A spec in an eval-named folder reading files beside it: the folder counts."""
    ws.build(Attack("task: x\n"))
    spec = ws.root / folder / "attack.yaml"
    spec.parent.mkdir(parents=True)
    (spec.parent / "train.jsonl").write_text(TRAIN_ROWS)
    spec.write_text("task: attack\nformat: short_answer\nseed: {files: '*.jsonl', license: mit}\n")
    project = str(ws.root / "tsqa.yaml")
    for result in (
        ws.run("lint", str(spec), "--project", project),
        ws.run("seeds", "fetch", str(spec), "--project", project),
    ):
        ws.assert_refused(result)


@pytest.mark.parametrize("path", ["'Idavidrein%2Fgpqa'", "'Idavidrein / gpqa'", "'idavidrein%2fGPQA'"])
def test_hub_id_spelled_with_escapes_or_spaces(ws: Workspace, path: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: multiple_choice\nseed: {{hf: {{path: {path}, name: gpqa_main}}, license: mit}}\n"
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


# Class 8: look-alike letters outside the confusables table (Greek, stroked and hooked Latin),
# leetspeak at a word's edge, and the words for "test"/"validation"/"evaluation" in other
# languages and scripts.
FOREIGN = [
    "τest", "τεστ", "Τest", "7est", "7es7", "t€st", "ŧest", "ƭest", "ʈest", "ᴛest", "ᴛᴇꜱᴛ", "3val", "v4l",
    "prueba", "pruebas_1", "évaluation", "evaluación", "validación", "validação", "avaliação", "teste",
    "Prüfung", "Validierung", "valutazione", "validatie", "walidacja", "doğrulama", "тест", "тестовые_данные",
    "проверка", "валидация", "测试集", "測試", "验证集", "テスト", "検証データ", "테스트", "검증", "اختبار", "परीक्षण",
]  # fmt: skip


@pytest.mark.parametrize("name", FOREIGN)
def test_eval_words_in_other_spellings_and_languages(name: str) -> None:
    from tsqa.seeds.names import eval_word

    assert eval_word(name) is not None
    assert eval_word(f"data_{name}.jsonl") is not None or eval_word(f"{name}.jsonl") is not None


NOT_EVAL_FOREIGN = [
    "entrenamiento", "formation", "training_daten", "обучение", "训练集", "トレーニング", "훈련", "7b", "gpt4",
    "llama3", "t5", "3d", "wiki40b", "c4", "level7", "détente", "protesta",
]  # fmt: skip


@pytest.mark.parametrize("name", NOT_EVAL_FOREIGN)
def test_training_words_in_other_languages_are_not_eval_names(name: str) -> None:
    from tsqa.seeds.names import eval_word

    assert eval_word(name) is None


@pytest.mark.parametrize("name", ["τest", "7est", "prueba", "тест", "测试", "validación"])
@pytest.mark.parametrize("where", ["file", "folder", "split"])
def test_foreign_names_refused_by_lint_and_fetch(ws: Workspace, name: str, where: str) -> None:
    path = {"file": f"data/{name}.jsonl", "folder": f"data/{name}/train.jsonl", "split": "data/train.jsonl"}[where]
    split = f", split: {_q(name)}" if where == "split" else ""
    spec = f"task: attack\nformat: short_answer\nseed: {{files: {_q('../' + path)}{split}, license: mit}}\n"
    ws.build(Attack(spec, {path: TRAIN_ROWS}))
    for result in (ws.lint(), ws.fetch()):
        ws.assert_refused(result)
        assert "attack.yaml:3:" in result.output, result.output
