"""The content check tells an eval row from a training row that shares only a generic short
question with it: logiqa's "Which must be true?" over a different passage is a training row
(the CI failure of stop 15), the same question over the same passage is the eval row, and a
short question that *is* its record (triviaqa) is the eval row on its own."""

from __future__ import annotations

import pyarrow as pa

from tsqa.seeds.content import EvalRecords, check_rows

LOGIQA_EVAL = {
    "context": "All dogs in the house sleep on mats. Rex is a dog in the house.",
    "question": "Which must be true?",
    "options": ["Rex sleeps on the bed.", "Rex sleeps on a mat.", "Rex is a cat.", "Rex never sleeps."],
}
TRIVIA_EVAL = {"question": "Who painted the ceiling of the Sistine Chapel?", "answer": "Michelangelo"}


def evals() -> list[EvalRecords]:
    return [EvalRecords.from_rows("eval store logiqa/test", [LOGIQA_EVAL, TRIVIA_EVAL])]


def matched(rows: list[dict]) -> list[int]:  # type: ignore[type-arg]
    return [m.row for m in check_rows(pa.Table.from_pylist(rows), evals()).matches]


def test_a_generic_question_over_another_passage_is_a_training_row() -> None:
    row = {
        "context": "All teachers at the school are graduates.",
        "question": "Which must be true?",
        "options": ["Some graduates are not teachers.", "No teacher lacks a degree.", "All are.", "None."],
    }
    assert matched([row]) == []


def test_one_word_from_a_generic_question_over_another_passage_is_a_training_row() -> None:
    evals_long = [
        EvalRecords.from_rows(
            "eval store logiqa/test",
            [
                {
                    "context": "Every violinist in the city orchestra practises at least three hours on each weekday morning.",
                    "question": "Which of the following most strengthens the argument above?",
                }
            ],
        )
    ]
    row = {
        "context": "Continuous exposure to indoor fluorescent light is beneficial to hamsters with heart disease.",
        "question": "Which of the following most weakens the argument above?",
    }
    assert check_rows(pa.Table.from_pylist([row]), evals_long).matches == []
    copied = dict(row, context=evals_long[0].fields[0][0])
    assert [m.row for m in check_rows(pa.Table.from_pylist([copied]), evals_long).matches] == [0]


def test_the_same_question_over_the_same_passage_is_the_eval_row() -> None:
    row = dict(LOGIQA_EVAL, options=["a", "b", "c", "d"])
    assert matched([row]) == [0]


def test_a_short_question_that_is_its_record_is_the_eval_row() -> None:
    row = {"question": "Who painted the ceiling of the Sistine Chapel?", "answer": "Raphael"}
    assert matched([row]) == [0]
