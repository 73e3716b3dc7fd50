"""Attack 11c: the content check in batches (961a6b0) against one pass. (The attack also compared
it with the previous one-pass code, a copy not kept: identical verdicts on these tables before the
repeated-copy fix, which only adds matches.)"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seeds"))
from test_content_batches import WORDS  # the batching test's vocabulary

from tsqa.seeds import content
from tsqa.seeds.content import EvalRecords, check_rows

EVAL_Q = "Which planet in our solar system is known as the red planet by astronomers?"
EVAL_SHORT = "Who wrote the novel Moby Dick in the year 1851"


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(30)) for _ in range(n)) + "?"


def _evals() -> list[Any]:
    rows = [
        {"question": EVAL_Q, "answer": "Mars"},
        {
            "question": "Which must be true?",
            "context": "The cat sat on the mat while the dog barked loudly outside.",
            "answer": "B",
        },
        {"question": EVAL_SHORT, "answer": "Herman Melville"},
    ]
    return rows


def _variants(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.randrange(14)
    if kind == 0:
        return {"question": EVAL_Q, "answer": "Mars"}
    if kind == 1:  # reordered copy (word-bag)
        w = EVAL_Q.rstrip("?").split()
        rng.shuffle(w)
        return {"question": " ".join(w), "answer": "x"}
    if kind == 2:  # fixed reordering: boilerplate once frequent
        w = EVAL_Q.rstrip("?").split()
        return {"question": " ".join(w[1:] + w[:1]), "answer": "y"}
    if kind == 3:  # short text inside a longer one
        return {"question": "Quiz: " + EVAL_SHORT + " and why?", "answer": "Herman Melville"}
    if kind == 4:  # normalisation differences only
        return {"question": EVAL_Q.upper().replace(" ", "&nbsp;"), "answer": None}
    if kind == 5:  # null / empty values
        return {"question": None, "answer": ""}
    if kind == 6:  # duplicate values within one row
        return {"question": EVAL_SHORT, "answer": EVAL_SHORT}
    if kind == 7:  # unicode look-alikes
        return {"question": EVAL_Q.replace("a", "\u0430"), "answer": "Mars"}
    if kind == 8:
        return {
            "question": "Which must be true?",
            "answer": "B",
            "extra": "The cat sat on the mat while the dog barked loudly outside.",
        }
    return {"question": _sentence(rng, 12), "answer": str(i)}


def _table(seed: int, n: int, where: bool) -> tuple[pa.Table, list[list[str]]]:
    rng = random.Random(seed)
    rows = [_variants(rng, i) for i in range(n)]
    if where:
        for i, r in enumerate(rows):
            r["_tsqa_where"] = rng.choice([None, "", f"f.jsonl line {i + 1}"])
    rendered = [
        [f"Question: {r['question'] or ''} Answer: {r['answer'] or ''}"] if rng.random() < 0.8 else [] for r in rows
    ]
    table = pa.Table.from_pylist(rows)
    # several chunks: slices cross chunk boundaries
    k = max(1, n // 3)
    table = pa.concat_tables([table.slice(0, k), table.slice(k)])
    return table, rendered


def _key(report: Any) -> list[tuple[int, str, str, str]]:
    return [(m.row, m.where, m.how, m.eval_id) for m in report.matches]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("where", [False, True])
@pytest.mark.parametrize("use_rendered", [False, True])
def test_batches_equal_one_pass(monkeypatch: pytest.MonkeyPatch, seed: int, where: bool, use_rendered: bool) -> None:
    n = 61
    table, rendered = _table(seed, n, where)
    built = rendered if use_rendered else None
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", n + 1)
    whole = check_rows(table, evals, built)
    assert whole.matches, "the case must hold eval rows"
    for batch in (1, 2, 7, n - 1, n):
        monkeypatch.setattr(content, "CHECK_BATCH_ROWS", batch)
        new = check_rows(table, evals, built)
        assert _key(new) == _key(whole), batch
        assert new.refused == whole.refused


def test_boilerplate_crosses_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value in 3 rows (bound 2) spread over three batches is boilerplate as in one pass."""
    w = EVAL_Q.rstrip("?").split()
    fixed = " ".join(w[1:] + w[:1])
    rows = [{"q": fixed if i in (0, 50, 99) else _sentence(random.Random(i), 12)} for i in range(100)]
    table = pa.Table.from_pylist(rows)
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    whole = check_rows(table, evals)
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 10)
    assert _key(check_rows(table, evals)) == _key(whole)


def test_empty_batches_and_empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    table = pa.table({"q": pa.array([], pa.string())})
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 1)
    assert check_rows(table, evals).matches == []
    # a table whose rows have no text at all (no field values: empty chunks in the count)
    table = pa.table({"n": pa.array([1, 2, 3], pa.int64()), "s": pa.array([None, "", None], pa.string())})
    assert check_rows(table, evals, [[], [], []]).matches == []


def test_rendered_longer_than_table_is_refused_like_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """One pass refused misaligned `rendered` (zip strict); batches must too, not drop the tail."""
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    table = pa.table({"q": ["hello there"] * 3})
    rendered = [[], [], [], [EVAL_Q]]
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 2)
    with pytest.raises(ValueError):
        check_rows(table, evals, rendered)


def test_repeated_reordered_eval_question_is_still_eval_data() -> None:
    w = EVAL_Q.rstrip("?").split()
    fixed = " ".join(w[1:] + w[:1])  # "planet in our solar ... astronomers Which"
    rows = [
        {"q": fixed, "a": "Mars"} if i % 25 == 0 else {"q": _sentence(random.Random(i), 12), "a": str(i)}
        for i in range(100)
    ]
    table = pa.Table.from_pylist(rows)
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    one = check_rows(pa.Table.from_pylist(rows[:1]), evals)
    assert one.matches, "a single copy is caught"
    found = {m.row for m in check_rows(table, evals).matches}
    assert found >= {0, 25, 50, 75}


def test_repeated_short_eval_question_inside_a_text_is_still_eval_data() -> None:
    copy = "Quiz: " + EVAL_SHORT + " and why?"
    rows = [{"q": copy} if i in (3, 40, 77) else {"q": _sentence(random.Random(i), 12)} for i in range(100)]
    evals = [EvalRecords.from_rows("eval.jsonl", _evals())]
    assert check_rows(pa.Table.from_pylist(rows[:4]), evals).matches, "one copy is caught"
    found = {m.row for m in check_rows(pa.Table.from_pylist(rows), evals).matches}
    assert found >= {3, 40, 77}
