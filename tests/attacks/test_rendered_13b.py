"""Attacks on the rendered-text content check after the attack13 fix (rendered.py: row by row where
process_docs changes the row count, seed ids mapped back to rows by position otherwise).

qasper's process_docs (lm-eval qasper/utils.process_docs_freeform) flattens each paper row into one
document per (question, free-form answer): one row can give several documents, or none.
  * row by row, rendered_texts keeps only `one.records[0]`: a paper's second question is never
    rendered for the check, apply renders it (hole 1);
  * a paper giving no document next to one giving two keeps the row count, so the batch is mapped by
    position: the eval question is attributed to the wrong row, and fetch drops that (innocent) row
    and stores the eval row (hole 2).
The stored text has every `e` as `Q`; the spec's template puts them back: only the rendering is the
eval question. Both holes are fixed: the check carries each row's position through process_docs
(`normalise(track_rows=True)`) and, where it is lost, renders row by row keeping every document."""

from __future__ import annotations

from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from attack_helpers import Attack, Workspace
from test_content import EVAL, jsonl, with_eval_store
from test_content_short import _apply_seed_read

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.content import EvalRecords, check_rows
from tsqa.seeds.normalise import normalise
from tsqa.seeds.rendered import rendered_texts
from tsqa.spec.models import TaskSpec

Row = dict[str, Any]
QUESTIONS = [str(r["question"]) for r in EVAL]
EVALS = [EvalRecords.from_rows("eval", [{"question": q, "answer": "x"} for q in QUESTIONS])]


def _honest(i: int) -> str:
    return f"how many apples does farmer number {i} keep in the old red barn today"


def _blob(free_form: str) -> Row:
    """A qasper answer: free-form when `free_form`, else a yes/no one (no free-form document)."""
    return {
        "unanswerable": False,
        "extractive_spans": [],
        "yes_no": None if free_form else True,
        "free_form_answer": free_form,
        "evidence": [],
        "highlighted_evidence": [],
    }


def _paper(i: int, questions: list[str], free_form: bool = True) -> Row:
    n = len(questions)
    return {
        "id": f"p{i}",
        "title": f"paper {i}",
        "abstract": "an abstract",
        "full_text": {"section_name": ["s"], "paragraphs": [["p"]]},
        "qas": {
            "question": [q.replace("e", "Q") for q in questions],
            "question_id": [f"q{i}-{j}" for j in range(n)],
            "nlp_background": [""] * n,
            "topic_background": [""] * n,
            "paper_read": [""] * n,
            "search_query": [""] * n,
            "question_writer": [""] * n,
            "answers": [
                {"answer": [_blob("blue" if free_form else "")], "annotation_id": ["a"], "worker_id": ["w"]}
                for _ in questions
            ],
        },
        "figures_and_tables": {"caption": [], "file": []},
    }


QASPER_FIELDS = {"question": "{{ question | replace('Q', 'e') }}", "answer": "{{ answer }}"}


def _spec() -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"lm_eval": "qasper_freeform", "license": "mit"},
            "format": "short_answer",
            "fields": QASPER_FIELDS,
        }
    )


def _apply_questions(rows: list[Row]) -> list[str]:
    return [
        r.question
        for r in normalise(_spec(), load_catalog().get("qasper_freeform"), pa.Table.from_pylist(rows)).records
    ]


def _matched(rows: list[Row]) -> list[int]:
    table = pa.Table.from_pylist(rows)
    return [m.row for m in check_rows(table, EVALS, partial(rendered_texts, _spec(), load_catalog())).matches]


# -- 1. a row giving several documents: only its first is rendered for the check -------------------


def test_control_eval_question_first_in_its_paper_is_found() -> None:
    rows = [_paper(0, [QUESTIONS[0], _honest(0)])]
    assert QUESTIONS[0] in _apply_questions(rows)
    assert _matched(rows) == [0]


def test_eval_question_second_in_its_paper_is_found() -> None:
    rows = [_paper(0, [_honest(0), QUESTIONS[0]])]
    assert QUESTIONS[0] in _apply_questions(rows)  # apply renders it
    assert _matched(rows) == [0]


# -- 2. one row giving none, the next two: same count, mapped by position, wrong row blamed ----------


def test_eval_question_is_blamed_on_its_own_row() -> None:
    rows = [_paper(0, [_honest(0)], free_form=False), _paper(1, [QUESTIONS[0], _honest(1)])]
    assert QUESTIONS[0] in _apply_questions(rows)
    assert _matched(rows) == [1]


# -- end to end: fetch and apply's seed read (plan does not read an unfetched hub seed) -------------------------------------------------

SPEC = (
    "task: attack\nformat: short_answer\nseed: {lm_eval: qasper_freeform, license: mit}\n"
    "fields: {question: \"{{ question | replace('Q', 'e') }}\", answer: \"{{ answer }}\"}\n"
)


def _workspace(ws: Workspace, monkeypatch: pytest.MonkeyPatch, rows: list[Row]) -> None:
    ws.build(Attack(SPEC))
    dd = ws.root / "dd" / "allenai" / "qasper"
    dd.mkdir(parents=True)
    (dd / "train.jsonl").write_text(jsonl(rows))
    with_eval_store(ws)
    monkeypatch.setenv("TSQA_SEED_DATA_DIR", str(ws.root / "dd"))


def _stored_questions(ws: Workspace) -> list[str]:
    from tsqa.spec.load import load_project, load_spec
    from tsqa.stages.seeds import read_seed_table

    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)  # type: ignore[arg-type]
    table = read_seed_table(loaded, project)  # type: ignore[arg-type]
    return [r.question for r in normalise(loaded.spec, load_catalog().get("qasper_freeform"), table).records]  # type: ignore[union-attr]


def test_control_end_to_end_first_question_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _workspace(ws, monkeypatch, [_paper(0, [QUESTIONS[0], _honest(0)])])
    assert "seed rows are eval rows" in _apply_seed_read(ws)
    assert "seed rows are eval rows" in ws.fetch("--data-dir", str(ws.root / "dd")).output


def test_end_to_end_second_question_apply(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _workspace(ws, monkeypatch, [_paper(0, [_honest(0), QUESTIONS[0]])])
    assert "seed rows are eval rows" in _apply_seed_read(ws)


def test_end_to_end_second_question_fetch(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _workspace(ws, monkeypatch, [_paper(0, [_honest(0), QUESTIONS[0]])])
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 1 and "seed rows are eval rows" in result.output, result.output
    assert "seed rows are eval rows" in _apply_seed_read(ws)  # nothing stored: the file is checked again


def test_end_to_end_misaligned_fetch_stores_the_eval_row(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [_paper(0, [_honest(0)], free_form=False), _paper(1, [QUESTIONS[0], _honest(1)])]
    rows += [_paper(2 + i, [_honest(2 + i)]) for i in range(150)]  # under 1 %: fetch drops, not refuses
    _workspace(ws, monkeypatch, rows)
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert "fetched" in result.output, result.output  # stored, one row dropped as an eval row
    assert QUESTIONS[0] not in _stored_questions(ws)
