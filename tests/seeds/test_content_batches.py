"""The content check reads a split in batches (a 500k-row split as dicts took >1 GiB): its verdicts,
row numbers and reasons equal one pass over the whole table, boilerplate counted over every row."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tsqa.seeds import content
from tsqa.seeds.content import EvalRecords, check_rows

WORDS = [
    "amber",
    "basalt",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "jasper",
    "kelp",
    "lumen",
]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n)) + "?"


def _case(seed: int) -> tuple[pa.Table, list[EvalRecords]]:
    rng = random.Random(seed)
    evals = [
        {"question": _sentence(rng, 14), "answer": "yes"},
        {"question": "Which must be true?", "context": _sentence(rng, 40), "answer": "B"},
        {"question": _sentence(rng, 5), "answer": "kelp"},
    ]
    rows = []
    for i in range(300):
        kind = rng.randrange(9)
        if kind == 0:  # an eval row, copied
            e = rng.choice(evals)
            rows.append({"question": e["question"], "context": e.get("context", ""), "answer": e["answer"]})
        elif kind == 1:  # the generic question over another passage
            rows.append({"question": "Which must be true?", "context": _sentence(rng, 40), "answer": "A"})
        elif kind == 2:  # boilerplate shared by many rows next to an eval question's words, reordered
            words = evals[0]["question"].rstrip("?").split()
            rng.shuffle(words)
            rows.append(
                {"question": " ".join(words) + "?", "context": "Read the passage below carefully.", "answer": "no"}
            )
        elif kind == 3:  # one fixed reordering in ~1 row of 9: boilerplate of the table, not of a batch
            words = evals[0]["question"].rstrip("?").split()
            fixed = " ".join(words[1:] + words[:1]) + "?"
            rows.append({"question": fixed, "context": _sentence(rng, 12), "answer": "no"})
        else:
            rows.append(
                {"question": _sentence(rng, 12), "context": "Read the passage below carefully.", "answer": str(i)}
            )
    return pa.Table.from_pylist(rows), [EvalRecords.from_rows("eval.jsonl", evals)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_batches_give_the_verdicts_of_one_pass(monkeypatch: pytest.MonkeyPatch, seed: int, batch: int) -> None:
    table, evals = _case(seed)
    whole = check_rows(table, evals)
    assert whole.matches, "the case must hold eval rows"
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", batch)
    batched = check_rows(table, evals)
    assert [(m.row, m.where, m.how, m.eval_id) for m in batched.matches] == [
        (m.row, m.where, m.how, m.eval_id) for m in whole.matches
    ]
