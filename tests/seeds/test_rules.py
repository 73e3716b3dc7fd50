"""Pure rules behind the catalogue: templates, function sources, languages, exclusions, sources."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from tsqa.seeds import build, groups, language, templates
from tsqa.seeds.build import exclusion_reason, family_of, task_info
from tsqa.seeds.language import guess_language
from tsqa.seeds.pysource import returns_index
from tsqa.seeds.sources import data_key, is_local_path
from tsqa.seeds.templates import is_function_ref, letter_only_choices, template_columns


@pytest.mark.parametrize("module", [templates, language, groups, build])
def test_doc_examples(module: object) -> None:
    failed, _ = doctest.testmod(module)  # type: ignore[arg-type]
    assert failed == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Question: {{question}}\nAnswer:", {"question"}),
        ("{{choices.label.index(answerKey)}}", {"choices", "answerKey"}),
        ("answer", {"answer"}),  # a bare identifier names a column
        ("{% set q = question|trim %}{{ q }} {{ range(3)|list }}", {"question"}),  # set vars, globals
        ("{{ x|regex_replace('a', 'b') }}", {"x"}),  # lm-eval's custom filter parses
        (3, set()),
        (["yes", "no"], set()),
        ({"a": "yes"}, set()),
        (None, set()),
        ("/site-packages/lm_eval/tasks/winogrande/preprocess_winogrande.doc_to_text", None),
        ("{{ broken", None),
    ],
)
def test_template_columns(value: object, expected: set[str] | None) -> None:
    got = template_columns(value)
    assert got == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/x/lm_eval/tasks/arc/utils.process_docs", True),
        ("Question: {{question}}", False),
        ("answer", False),
        ("/x/{{a}}.b", False),
        (3, False),
    ],
)
def test_is_function_ref(value: object, expected: bool) -> None:
    assert is_function_ref(value) is expected


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        (["A", "B", "C", "D", "E"], True),
        (["(A)", "(B)", "(C)", "(D)"], True),
        ("{{choices.label}}", True),
        ("{{['A', 'B']}}", True),
        (["no", "yes"], False),
        (["True", "Neither", "False"], False),
        ("{{choices.text}}", False),
        ("{{[A, B, C, D]}}", False),  # columns named A..D hold the option texts
        ([], False),
        ("/x/utils.doc_to_choice", False),
    ],
)
def test_letter_only_choices(choices: object, expected: bool) -> None:
    assert letter_only_choices(choices) is expected


def test_returns_index_reads_source_without_importing(tmp_path: Path) -> None:
    module = tmp_path / "utils.py"
    module.write_text(
        "import sys\nsys.exit(3)  # importing this module would end the process\n"
        "def wino(doc):\n    m = {'1': 0, '2': 1}\n    return m[doc['answer']]\n"
        "def lit(doc):\n    return 0\n"
        "def idx(doc):\n    return doc['opts'].index(doc['gold'])\n"
        "def text(doc):\n    return 'Q: ' + doc['q']\n"
        "def strmap(doc):\n    m = {'1': 'a'}\n    return m[doc['x']]\n"
    )
    ref = str(tmp_path / "utils")
    assert returns_index(ref + ".wino") and returns_index(ref + ".lit") and returns_index(ref + ".idx")
    assert not returns_index(ref + ".text") and not returns_index(ref + ".strmap")
    assert not returns_index(ref + ".missing") and not returns_index(str(tmp_path / "nofile.f"))


@pytest.mark.parametrize(
    ("name", "family", "expected"),
    [
        ("arc_easy", "arc", "en"),
        ("afrimgsm_cot_eng_prompt_3", "afrimgsm", "en"),
        ("arc_challenge_mt_is", "arc_mt", "is"),
        ("mgsm_en_cot_de", "mgsm", "de"),  # question language, not the CoT exemplar language
        ("noropenbookqa_nno_p0", "noreval", "nn"),
        ("norquad_p0", "noreval", "no"),
        ("tatoeba_eng_nob_p0", "noreval", None),  # translation direction
        ("wmt16-en-de", "translation", None),
        ("mgsm_direct_ca", "catalan_bench", "ca"),
        ("some_task", "unknown_family", None),
    ],
)
def test_guess_language(name: str, family: str, expected: str | None) -> None:
    assert guess_language(name, family) == expected


BASE = {"dataset_path": "org/ds", "training_split": "train", "validation_split": "validation", "test_split": "test"}


@pytest.mark.parametrize(
    ("cfg", "reason"),
    [
        (BASE, None),
        ({**BASE, "training_split": None}, "no training split"),
        ({**BASE, "training_split": "test"}, "training split 'test' is also the test split"),
        ({**BASE, "training_split": "validation"}, "training split 'validation' is also the validation split"),
        (
            {**BASE, "dataset_path": "csv", "dataset_kwargs": {"data_files": {"train": "/gpfs/x.csv"}}},
            "data is on a local path of the task author",
        ),
        ({**BASE, "dataset_path": "csv", "dataset_kwargs": {"data_files": {"train": "hf://datasets/o/x.csv"}}}, None),
        (
            {**BASE, "dataset_path": None, "custom_dataset": "/x/utils.load"},
            "custom dataset loader (a Python function)",
        ),
        ({**BASE, "doc_to_audio": "audio"}, "multimodal (image or audio inputs)"),
    ],
)
def test_exclusion_reason(cfg: dict, reason: str | None) -> None:
    assert exclusion_reason(cfg) == reason


def test_python_class_task_is_excluded() -> None:
    assert "Python class" in (exclusion_reason({"class": "x"}, python_class=True) or "")


def test_data_key_merges_known_reuploads_and_separates_files() -> None:
    assert data_key("DigitalLearningGmbH/MATH-lighteval", "algebra", "train", None) == data_key(
        "EleutherAI/hendrycks_math", "algebra", "train", None
    )
    a = data_key("csv", None, "train", {"train": "hf://datasets/a/train.csv"})
    b = data_key("csv", None, "train", {"train": "hf://datasets/b/train.csv"})
    assert a != b
    assert data_key(None, None, "train", None) is None
    assert is_local_path("./data", None) and not is_local_path("org/ds", ["hf://x"])


def test_family_of(tmp_path: Path) -> None:
    root = tmp_path / "lm_eval" / "tasks"
    assert family_of(root / "arc" / "arc_easy.yaml", root) == "arc"
    assert family_of(root / "okapi" / "arc_multilingual" / "arc_de.yaml", root) == "okapi"
    assert family_of(tmp_path / "mine" / "t.yaml", root) == "mine"


def test_task_info_from_config() -> None:
    cfg = {
        **BASE,
        "output_type": "multiple_choice",
        "doc_to_text": "{{q}}",
        "doc_to_choice": ["A", "B"],
        "doc_to_target": "label",
        "process_docs": "/x/utils.process_docs",
    }
    t = task_info("demo_task", cfg, "arc")
    assert t.columns == {"q", "label"} and t.letter_only_choices and t.has_process_docs
    assert t.function_fields == ("process_docs",) and t.usable and t.data_key == "org/ds@train"
    no_type = task_info("g", {**BASE, "doc_to_text": "/x/u.f"}, "arc")
    assert no_type.output_type == "generate_until" and no_type.columns is None
