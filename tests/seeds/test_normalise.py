"""Normalisation rules beyond the golden tasks: overrides, failures per record, setup errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
from seed_helpers import lm_eval_spec

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.errors import SeedError
from tsqa.seeds.functions import FunctionImportError
from tsqa.seeds.model import TaskRules
from tsqa.seeds.normalise import normalise
from tsqa.seeds.record import records_to_table
from tsqa.spec.models import TaskSpec

ARC_DOC = {
    "id": "x",
    "question": "Which is a gas?",
    "choices": {"text": ["ice", "steam", "rock"], "label": ["A", "B", "C"]},
    "answerKey": "B",
}


def files_spec(fmt: str = "multiple_choice", **fields: str) -> TaskSpec:
    return TaskSpec.model_validate({"task": "mine", "seed": {"files": "x.jsonl"}, "format": fmt, "fields": fields})


def test_spec_fields_override_the_task_rules() -> None:
    spec = TaskSpec.model_validate(
        {
            "task": "arc_easy",
            "seed": {"lm_eval": "arc_easy"},
            "format": "multiple_choice",
            "fields": {"question": "{{ question }}", "context": "{{ id }}"},
        }
    )
    rec = normalise(spec, load_catalog().get("arc_easy"), [ARC_DOC]).records[0]
    assert rec.question == "Which is a gas?"  # not lm-eval's "Question: …\nAnswer:"
    assert (rec.options, rec.answer_text, rec.answer_index, rec.context) == (("ice", "steam", "rock"), "steam", 1, "x")


def test_bad_records_are_reported_and_the_rest_continue() -> None:
    docs = [ARC_DOC, {**ARC_DOC, "answerKey": "Z"}, {k: v for k, v in ARC_DOC.items() if k != "question"}, ARC_DOC]
    result = normalise(lm_eval_spec("arc_easy"), load_catalog().get("arc_easy"), docs)
    assert [r.seed_id for r in result.records] == ["arc_easy:0", "arc_easy:3"]
    assert [f.seed_id for f in result.failures] == ["arc_easy:1", "arc_easy:2"]
    assert "'Z'" in result.failures[0].reason
    assert result.failures[1].reason.startswith("lm-eval doc_to_text: UndefinedError")


def test_files_seed_reads_same_named_columns() -> None:
    docs = [{"question": "2+2?", "answer": "4"}, {"question": "Capital of France?", "answer": ["Paris", "paris"]}]
    records = normalise(files_spec("short_answer"), None, pa.Table.from_pylist([docs[0]])).records
    assert (records[0].question, records[0].answer_text) == ("2+2?", "4")
    records = normalise(files_spec("short_answer"), None, [docs[1]]).records
    assert records[0].answer_aliases == ("Paris", "paris")


def test_files_seed_templates_with_lm_eval_literal_rules() -> None:
    spec = files_spec(question="{{ q }}", choices="{{ [a, b] }}", answer="{{ gold }}")
    rec = normalise(spec, None, [{"q": "Pick b", "a": "first", "b": "second", "gold": 1}]).records[0]
    assert (rec.options, rec.answer_text, rec.answer_index) == (("first", "second"), "second", 1)


def test_letter_choices_map_back_from_the_prompt() -> None:
    spec = files_spec(
        question="{{ stem }}\nA. {{ o[0] }}\nB. {{ o[1] }}", choices="{{ ['A', 'B'] }}", answer="{{ key }}"
    )
    rec = normalise(spec, None, [{"stem": "Sky colour?", "o": ["green", "blue"], "key": "B"}]).records[0]
    assert (rec.options, rec.answer_text) == (("green", "blue"), "blue")


def test_unmappable_letters_fail_for_a_letter_only_task() -> None:
    # The spec's question has no lettered lines and the label column uses other letters.
    spec = TaskSpec.model_validate(
        {
            "task": "csqa",
            "seed": {"lm_eval": "commonsense_qa"},
            "format": "multiple_choice",
            "fields": {"question": "{{ question }}"},
        }
    )
    doc = {"question": "q?", "choices": {"label": list("VWXYZ"), "text": list("abcde")}, "answerKey": "A"}
    result = normalise(spec, load_catalog().get("commonsense_qa"), [doc])
    assert result.records == [] and "cannot find the option texts" in result.failures[0].reason


def test_broken_template_is_a_setup_error_naming_the_field() -> None:
    with pytest.raises(SeedError, match=r"fields.question: invalid template"):
        normalise(files_spec(question="{{ q }"), None, [{"q": "x"}])


def test_function_import_failure_is_reported_not_raised_from_the_module() -> None:
    info = load_catalog().get("winogrande")
    assert info is not None and info.rules is not None
    broken = replace(info, rules=replace(info.rules, doc_to_text="!function winogrande/no_such_module.doc_to_text"))
    with pytest.raises(FunctionImportError, match="no_such_module"):
        normalise(
            lm_eval_spec("winogrande"), broken, [{"sentence": "a _ b", "option1": "x", "option2": "y", "answer": "1"}]
        )


@pytest.fixture
def tasks_root(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A stand-in for lm-eval's task folder: the only place task functions are imported from."""
    from tsqa.seeds import functions

    monkeypatch.setattr(functions, "tasks_root", lambda: tmp_path.resolve())
    functions.import_function.cache_clear()  # the same reference names another module here
    yield tmp_path
    functions.import_function.cache_clear()


def test_function_module_calling_sys_exit_is_caught(tasks_root: Any) -> None:
    (tasks_root / "mod.py").write_text("import sys\nsys.exit(3)\ndef f(doc):\n    return 'x'\n")
    info = load_catalog().get("piqa")
    assert info is not None
    rules = TaskRules(doc_to_text="!function mod.f", doc_to_choice="{{[sol1, sol2]}}", doc_to_target="label")
    with pytest.raises(FunctionImportError, match="SystemExit"):
        normalise(
            lm_eval_spec("piqa"), replace(info, rules=rules), [{"goal": "g", "sol1": "a", "sol2": "b", "label": 0}]
        )


def test_records_to_arrow() -> None:
    records = normalise(lm_eval_spec("arc_easy"), load_catalog().get("arc_easy"), [ARC_DOC]).records
    table = records_to_table(records)
    assert table.num_rows == 1 and table.column("options").to_pylist() == [["ice", "steam", "rock"]]


@pytest.mark.parametrize(
    "body",
    [
        "    return dataset.map(lambda d: {'goal': d['goal'].upper()})",  # row-wise map: the fast path
        "    return dataset.filter(lambda d: d['label'] == 1).map(lambda d: {'goal': d['goal'].upper()})",
        "    return dataset.map(lambda b: {'goal': [g.upper() for g in b['goal']]}, batched=True)",
    ],
)
def test_process_docs_on_rows_or_a_real_dataset(tasks_root: Any, body: str) -> None:
    (tasks_root / "proc.py").write_text(f"def process_docs(dataset):\n{body}\n")
    info = load_catalog().get("piqa")
    assert info is not None and info.rules is not None
    patched = replace(
        info, has_process_docs=True, rules=replace(info.rules, process_docs="!function proc.process_docs")
    )
    docs = [
        {"goal": "up", "sol1": "a", "sol2": "b", "label": 1},
        {"goal": "down", "sol1": "c", "sol2": "d", "label": 0},
    ]
    records = normalise(lm_eval_spec("piqa"), patched, docs).records
    expected = ["Question: UP\nAnswer:"] + ([] if "filter" in body else ["Question: DOWN\nAnswer:"])
    assert [r.question for r in records] == expected
