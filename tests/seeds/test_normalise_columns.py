"""Normalise's column-by-column path (tsqa.seeds.normalise_columns) gives every row the record, or the
failure, that the per-document path gives it: the stage's stream (which takes certain rows as Arrow
columns) is compared with `normalise` over the whole split (one document at a time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from normalise_paths import both_paths as _both
from normalise_paths import normalise_task as _task
from normalise_paths import same_result as _same

from tsqa.seeds.normalise import _plan
from tsqa.seeds.normalise_columns import certain_rows, column_plan
from tsqa.stages.base import TaskContext
from tsqa.stages.normalise import _raw_texts

QUESTIONS = st.one_of(
    st.none(),
    st.sampled_from(["", "   ", "\u00a0", "\u2003x", "A", "?", "Which one?", " 42 ", "é", "Who (B)?"]),
    st.text(max_size=12),
)
CHOICE = st.one_of(
    st.none(),
    st.sampled_from(["A", "(b).", " C ", "d:", "\u00a0A\u00a0", "AB", "a1", "12", "yes", "no", "", " ", "x y"]),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            QUESTIONS, st.one_of(st.none(), st.lists(CHOICE, max_size=5)), st.one_of(st.none(), st.integers(-2, 6))
        ),
        min_size=1,
        max_size=12,
    ),
    cuts=st.lists(st.integers(0, 12), max_size=3),
    large=st.booleans(),
)
def test_multiple_choice_rows_get_the_per_document_record_or_failure(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any], cuts: list[int], large: bool
) -> None:
    task = _mc_task(tmp_path_factory)
    text, listed = (
        (pa.large_string(), pa.large_list(pa.large_string())) if large else (pa.string(), pa.list_(pa.string()))
    )
    table = pa.table(
        {
            "question": pa.array([r[0] for r in rows], text),
            "choices": pa.array([r[1] for r in rows], listed),
            "answer": pa.array([r[2] for r in rows], pa.int8() if large else pa.int64()),
        }
    )
    _same(*_both(task, table, cuts))


_MC: dict[str, TaskContext] = {}


def _mc_task(factory: pytest.TempPathFactory) -> TaskContext:
    if "mc" not in _MC:
        _MC["mc"] = _task(factory.mktemp("mc"), "multiple_choice")
    return _MC["mc"]


def test_most_rows_of_a_plain_table_take_the_column_path(tmp_path: Path) -> None:
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "", "Which metal?", None],
            "choices": [["oxygen", "argon"], ["a1", "b2"], ["A", "B"], ["iron", "tin"]],
            "answer": [1, 0, 0, 1],
            "context": ["ctx", None, "c", "d"],
        }
    )
    spec = task.spec
    columns = column_plan(spec.task, spec.format, _plan(spec, None, frozenset(table.column_names)))
    assert columns is not None and columns.context == "context"
    # blank question, letter-label choices, null question: per document
    assert certain_rows(columns, table, _raw_texts(table)).tolist() == [True, False, False, False]
    whole, parts = _both(task, table, [2])
    _same(whole, parts)
    assert [r["seed_id"] for r in whole.kept.to_pylist()] == ["t:0", "t:2"]
    assert whole.kept.column("answer_text").to_pylist() == ["argon", "A"]
    assert whole.rejects.column("id").to_pylist() == ["t:1", "t:3"]


@pytest.mark.parametrize(
    "answer",
    [
        pa.array([True, False, True]),  # bool is not an index here: per document
        pa.array(["argon", "neon", " tin "]),  # a choice's text: per document
        pa.array([0.0, 1.0, 1.5]),
        pa.array([1, 0, 2], pa.uint8()),
    ],
)
def test_answer_columns_of_other_types(tmp_path: Path, answer: pa.Array) -> None:
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "Which one?", "Which metal?"],
            "choices": [["oxygen", "argon", "neon"]] * 2 + [["iron", "tin"]],
            "answer": answer,
        }
    )
    _same(*_both(task, table, []))


@pytest.mark.parametrize(
    "context",
    [pa.array(["a", None, "c"]), pa.array([1, 2, None]), pa.array([None, None, None], pa.null())],
)
def test_context_columns(tmp_path: Path, context: pa.Array) -> None:
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "Which one?", "Which metal?"],
            "choices": [["oxygen", "argon"]] * 3,
            "answer": [0, 1, 0],
            "context": context,
        }
    )
    _same(*_both(task, table, [1]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(QUESTIONS, st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["42", " 7 ", ""]))),
        min_size=1,
        max_size=10,
    ),
    as_int=st.booleans(),
)
def test_short_answer_rows_get_the_per_document_record_or_failure(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any], as_int: bool
) -> None:
    if "sa" not in _MC:
        _MC["sa"] = _task(tmp_path_factory.mktemp("sa"), "short_answer")
    answers = [r[1] for r in rows]
    column = (
        pa.array([len(a) if a is not None else None for a in answers]) if as_int else pa.array(answers, pa.string())
    )
    table = pa.table({"question": pa.array([r[0] for r in rows], pa.string()), "answer": column})
    _same(*_both(_MC["sa"], table, [3]))


def test_templated_fields_are_never_read_as_columns(tmp_path: Path) -> None:
    task = _task(tmp_path, "multiple_choice", 'fields: {question: "{{ question }}"}\n')
    spec = task.spec
    assert column_plan(spec.task, spec.format, _plan(spec, None, frozenset({"question", "choices", "answer"}))) is None


def test_a_shard_whose_raw_json_the_core_cannot_write_goes_per_document(tmp_path: Path) -> None:
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "Which one?"],
            "choices": [["oxygen", "argon"]] * 2,
            "answer": [0, 1],
            "when": pa.array(np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[s]")),
        }
    )
    assert _raw_texts(table) is None
    _same(*_both(task, table, []))
