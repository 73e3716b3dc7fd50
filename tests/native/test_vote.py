"""Majority vote: extraction and canonicalisation cases, ties, adversarial answers, bad input."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tsqa.curate import (
    ColumnTypeError,
    InputError,
    NullValueError,
    ParameterError,
    majority_vote,
)


@pytest.mark.parametrize(
    ("mode", "samples", "winner", "votes"),
    [
        ("boxed", ["\\boxed{1,000}", "\\boxed{1000.0}", "\\boxed{999}"], "1000", 2),
        ("boxed", ["\\boxed{\\frac{1}{2}}", "\\boxed{0.50}", "\\boxed{.5}", "\\boxed{2/4}"], "1/2", 4),
        ("boxed", ["\\boxed{x^2 + 1}", "\\boxed{x^2+1}", "no box"], "x^2+1", 2),
        (
            "final_answer",
            ["... The final answer is 42.", "the final answer is $42$", "The final answer is 41"],
            "42",
            2,
        ),
        ("final_answer", ["The final answer is \\boxed{7}", "Final answer: 7"], "7", 2),
        ("number", ["I count 3 then 12", "answer: 12.0", "maybe -12"], "12", 2),
        ("text", ["The Eiffel Tower.", "eiffel tower", "an Eiffel tower!", "Louvre"], "eiffel tower", 3),
        ("text", ["Straße", "STRASSE", "straße"], "straße", 2),
    ],
)
def test_canonical_answers_vote_together(mode: str, samples: list[str], winner: str, votes: int) -> None:
    r = majority_vote([samples], mode=mode)  # type: ignore[arg-type]
    assert r.winner.to_pylist() == [winner]
    assert r.votes.tolist() == [votes]
    assert r.total.tolist() == [len(samples)]


def test_multiple_choice_letter_and_option_text() -> None:
    options = [["Paris", "London", "Rome", "Berlin"], ["yes", "no"]]
    samples = [["The answer is (B)", "london", "B) London", "A"], ["no", "(A)", "\\boxed{B}"]]
    r = majority_vote(samples, mode="multiple_choice", options=options, references=["London", "0"])
    assert r.winner.to_pylist() == ["B", "B"]
    assert r.winner_text.to_pylist() == ["London", "no"]
    assert r.votes.tolist() == [3, 2]
    assert r.matches_reference.to_pylist() == [True, False]
    assert r.reference.to_pylist() == ["B", "A"]


def test_agreement_and_reference_nulls() -> None:
    r = majority_vote([["\\boxed{2}"] * 3 + ["junk"], ["x"]], mode="boxed", references=["2", None])
    assert r.agreement.tolist() == [0.75, 0.0]
    assert r.valid.tolist() == [3, 0]
    assert r.matches_reference.to_pylist() == [True, None]
    assert r.winner.to_pylist() == ["2", None]


def test_hundred_tied_answers_first_appearance_wins() -> None:
    samples = [f"The final answer is {i}" for i in range(100)]
    r = majority_vote([samples, samples[::-1]], mode="final_answer")
    assert r.winner.to_pylist() == ["0", "99"]
    assert r.votes.tolist() == [1, 1]
    assert r.agreement.tolist() == [0.01, 0.01]


def test_adversarial_answers() -> None:
    huge = "The final answer is " + "9" * 200_000
    samples = [
        [],
        [""],
        ["   ", "\x00", "🙂🙂"],
        [huge, huge],
        ["\\boxed{", "\\boxed{}}}"],
        ["The final answer is ½", "The final answer is ½"],
    ]
    r = majority_vote(samples, mode="final_answer")
    assert r.total.tolist() == [0, 1, 3, 2, 2, 2]
    assert r.winner[0].as_py() is None and r.winner[1].as_py() is None
    assert r.winner[3].as_py() == "9" * 200_000 and r.votes[3] == 2
    assert r.winner[5].as_py() == "½"
    rt = majority_vote([["🙂🙂", "🙂🙂", "a"]], mode="text")
    assert rt.votes.tolist() == [0] or rt.winner.to_pylist() == ["a"]


def test_arrow_list_inputs() -> None:
    samples = pa.array([["\\boxed{1}", "\\boxed{1}"], ["\\boxed{2}"]], type=pa.large_list(pa.string()))
    assert majority_vote(samples, mode="boxed").winner.to_pylist() == ["1", "2"]
    chunked = pa.chunked_array([pa.array([["A"]]), pa.array([["B", "B"]])])
    assert majority_vote(chunked, mode="multiple_choice").winner.to_pylist() == ["A", "B"]
    sliced = pa.array([["x"], ["\\boxed{5}"], ["y"]]).slice(1, 1)
    assert majority_vote(sliced, mode="boxed").winner.to_pylist() == ["5"]


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="mode='majority'"):
        majority_vote([["a"]], mode="majority")  # type: ignore[arg-type]
    with pytest.raises(NullValueError, match="row 1"):
        majority_vote(pa.array([["a"], None], type=pa.list_(pa.string())))
    with pytest.raises(NullValueError, match="row 1"):
        majority_vote(pa.array([["a"], ["b", None]], type=pa.list_(pa.string())))
    with pytest.raises(ColumnTypeError, match="list<string>"):
        majority_vote(pa.array(["a", "b"]))
    with pytest.raises(ColumnTypeError):
        majority_vote(pa.array([[1, 2]]))
    with pytest.raises(ColumnTypeError):
        majority_vote([[1, 2]])  # type: ignore[list-item]
    with pytest.raises(InputError, match="references has 2 rows but samples has 1"):
        majority_vote([["a"]], references=["a", "b"])
