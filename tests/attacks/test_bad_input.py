"""Class: bad seed input. Each gets a clear message naming the file and the key or line (a record
error names the record's file:line, or file + row for Parquet); null and NaN fields reject that
record only; an empty training file is an error. Never a traceback."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from attack_helpers import Attack, Workspace

ARC = "task: attack\nformat: multiple_choice\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\n"
ARC_ROW = {
    "id": "t1",
    "question": "Which of these is a mammal that lives in the ocean?",
    "choices": {"text": ["shark", "whale", "tuna", "eel"], "label": ["A", "B", "C", "D"]},
    "answerKey": "B",
}

SOURCES = {
    "a list": ("[1, 2]", "expected a JSON object of dataset → folder, found a list"),
    "a number": ("42", "found a number"),
    "null": ("null", "found null"),
    "a string": ('"arc"', "found a string"),
    "invalid JSON": ('{"allenai/ai2_arc:ARC-Easy": }', "sources.json:1: invalid JSON"),
    "a null folder": ('{"allenai/ai2_arc:ARC-Easy": null}', "key 'allenai/ai2_arc:ARC-Easy': expected a folder name"),
    "a number folder": ('{"allenai/ai2_arc:ARC-Easy": 3}', "key 'allenai/ai2_arc:ARC-Easy': expected a folder name"),
    "a list folder": ('{"allenai/ai2_arc:ARC-Easy": ["a"]}', "found a list"),
    "an absolute folder": ('{"allenai/ai2_arc:ARC-Easy": "/etc"}', "must be relative to the data dir"),
    "a missing folder": ('{"allenai/ai2_arc:ARC-Easy": "nowhere"}', "folder"),
    "not UTF-8": ("\udcff", "not UTF-8"),
}


@pytest.mark.parametrize(("text", "message"), SOURCES.values(), ids=SOURCES.keys())
def test_malformed_sources_json(ws: Workspace, text: str, message: str) -> None:
    ws.build(Attack(ARC))
    index = ws.root / "dd" / "sources.json"
    index.parent.mkdir(parents=True)
    index.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    ws.assert_refused(result)
    assert message in result.output and "sources.json" in result.output, result.output


def test_empty_training_file_is_an_error(ws: Workspace) -> None:
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n",
            {"data/train.jsonl": "\n\n"},
        )
    )
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "train.jsonl: the file holds no rows (an empty training file)" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "a b c d", "answer": "1"}\n{oops\n', "train.jsonl:2: invalid JSON"),
        ('{"question": "a b c d", "answer": "1"}\n[1, 2]\n', "train.jsonl:2: expected a JSON object per line"),
        ('{"question": "a", "answer": 1}\n\n{"question": "b", "answer": {"x": 1}}\n', "first differing at"),
    ],
    ids=["invalid line", "not an object", "mixed types"],
)
def test_broken_lines_are_named(ws: Workspace, content: str, message: str) -> None:
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n",
            {"data/train.jsonl": content},
        )
    )
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert message in result.output
    if message == "first differing at":
        assert "train.jsonl:3" in result.output  # the line, not the row index


def _normalise_file(ws: Workspace, spec_text: str, rows: list[dict], fmt: str = "jsonl"):  # type: ignore[no-untyped-def, type-arg]
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.load import read_split
    from tsqa.seeds.normalise import normalise
    from tsqa.seeds.source import resolve_seed
    from tsqa.spec.load import load_project, load_spec

    (ws.root / "data").mkdir(exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), ws.root / "data" / "train.parquet")
    else:
        (ws.root / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws.build(Attack(spec_text))
    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, diags = load_spec(ws.spec, project)
    assert loaded is not None, diags
    catalog = load_catalog()
    info = catalog.get("arc_easy") if "lm_eval" in spec_text else None
    table = read_split(resolve_seed(loaded.spec, catalog), spec_dir=ws.spec.parent)
    return normalise(loaded.spec, info, table)


def test_null_question_rejects_that_record_only(ws: Workspace) -> None:
    spec = "task: attack\nformat: multiple_choice\nseed: {files: ../data/train.jsonl, license: mit}\n"
    spec += "fields: {question: 'Q: {{ question }}', choices: '{{ choices.text }}', answer: '{{ choices.label.index(answerKey) }}'}\n"
    rows = [ARC_ROW, {**ARC_ROW, "question": None}, ARC_ROW]
    result = _normalise_file(ws, spec, rows)
    assert [r.seed_id for r in result.records] == ["attack:0", "attack:2"]
    assert all("None" not in r.question for r in result.records)
    (failure,) = result.failures
    assert failure.reason.endswith("train.jsonl:2: fields.question: field 'question' is null")


def test_nan_label_rejects_that_record_only(ws: Workspace) -> None:
    spec = "task: attack\nformat: multiple_choice\nseed: {files: ../data/train.jsonl, license: mit}\n"
    spec += "fields: {question: '{{ q }}', choices: '{{ opts }}', answer: '{{ label }}'}\n"
    base = {"q": "Pick the second option please", "opts": ["x", "y"]}
    (ws.root / "data").mkdir(exist_ok=True)
    lines = [
        json.dumps({**base, "label": 1}),
        '{"q": "Pick one", "opts": ["x", "y"], "label": NaN}',
        json.dumps({**base, "label": 0}),
    ]
    (ws.root / "data" / "train.jsonl").write_text("\n".join(lines) + "\n")
    ws.build(Attack(spec))
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.load import read_split
    from tsqa.seeds.normalise import normalise
    from tsqa.seeds.source import resolve_seed
    from tsqa.spec.load import load_project, load_spec

    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)
    assert loaded is not None
    table = read_split(resolve_seed(loaded.spec, load_catalog()), spec_dir=ws.spec.parent)
    assert pa.types.is_integer(table.schema.field("label").type)  # the column keeps its type
    result = normalise(loaded.spec, None, table)
    assert [r.answer_index for r in result.records] == [1, 0]
    (failure,) = result.failures
    assert "train.jsonl:2: fields.answer: field 'label' is null" in failure.reason


def test_parquet_record_errors_name_file_and_row(ws: Workspace) -> None:
    spec = "task: attack\nformat: multiple_choice\nseed: {files: ../data/train.parquet, license: mit}\n"
    spec += "fields: {question: '{{ question }}', choices: '{{ choices.text }}', answer: '{{ choices.label.index(answerKey) }}'}\n"
    result = _normalise_file(ws, spec, [ARC_ROW, {**ARC_ROW, "answerKey": "Z"}], fmt="parquet")
    (failure,) = result.failures
    assert "train.parquet row 2: " in failure.reason and "ValueError" in failure.reason


def test_lm_eval_null_question_is_not_the_text_none(ws: Workspace) -> None:
    dd = "dd/allenai/ai2_arc/ARC-Easy/train.jsonl"
    ws.build(Attack(ARC, {dd: json.dumps(ARC_ROW) + "\n" + json.dumps({**ARC_ROW, "question": None}) + "\n"}))
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.load import read_split
    from tsqa.seeds.normalise import normalise
    from tsqa.seeds.source import resolve_seed
    from tsqa.spec.load import load_project, load_spec

    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)
    assert loaded is not None
    catalog = load_catalog()
    table = read_split(resolve_seed(loaded.spec, catalog), spec_dir=ws.spec.parent, data_dir=ws.root / "dd")
    result = normalise(loaded.spec, catalog.get("arc_easy"), table)
    assert len(result.records) == 1 and "None" not in result.records[0].question
    (failure,) = result.failures
    assert "train.jsonl:2: lm-eval doc_to_text: field 'question' is null" in failure.reason
