"""seeds/rendered.py and check_rows with a batch renderer: what a spec's field templates build from
each row is compared with the eval records batch by batch, as if the whole split were rendered."""

from __future__ import annotations

from functools import partial

import pyarrow as pa
import pytest
from seed_helpers import lm_eval_spec

from tsqa.seeds import content
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.content import EvalRecords, check_rows
from tsqa.seeds.rendered import rendered_texts
from tsqa.spec.models import TaskSpec

QUESTIONS = [
    "Which layer of the atmosphere holds most of the ozone that shields living things from ultraviolet light?",
    "What process do green plants use to turn sunlight water and carbon dioxide into sugar and oxygen?",
]


def _assembling_spec() -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"files": "train.jsonl", "license": "mit"},
            "format": "short_answer",
            "fields": {"question": "{{ a }} {{ b }} {{ c }}", "answer": "{{ answer }}"},
        }
    )


def _rows(count: int, eval_at: dict[int, str]) -> pa.Table:
    """Rows whose columns (c, a, b) hold thirds of a question: an eval question at `eval_at`."""
    rows = []
    for i in range(count):
        words = (eval_at.get(i) or f"how many apples does farmer number {i} keep in the old red barn today").split()
        k = len(words) // 3
        rows.append({"c": " ".join(words[2 * k :]), "a": " ".join(words[:k]), "b": " ".join(words[k : 2 * k])})
        rows[-1]["answer"] = "blue"
    return pa.Table.from_pylist(rows)


def test_an_assembled_eval_question_is_found_in_any_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 4)
    evals = [EvalRecords.from_rows("eval", [{"question": q, "answer": "x"} for q in QUESTIONS])]
    table = _rows(11, {1: QUESTIONS[0], 9: QUESTIONS[1]})
    spec = _assembling_spec()
    assert check_rows(table, evals).matches == []  # the columns alone match nothing
    whole = check_rows(table, evals, rendered_texts(spec, load_catalog(), table))
    batched = check_rows(table, evals, partial(rendered_texts, spec, load_catalog()))
    assert [m.row for m in batched.matches] == [m.row for m in whole.matches] == [1, 9]


@pytest.mark.parametrize("start", [3, 20_000])
def test_a_batch_renders_as_its_rows_in_the_whole_split(start: int) -> None:
    """sciq shuffles options per seed id: a batch's rows keep the seed ids of their positions."""
    spec = lm_eval_spec("sciq")
    rows = [
        {
            "question": f"Question {i} about cells?",
            "correct_answer": f"right {i}",
            "distractor1": f"wrong a{i}",
            "distractor2": f"wrong b{i}",
            "distractor3": f"wrong c{i}",
            "support": "",
        }
        for i in range(start + 6)
    ]
    whole = rendered_texts(spec, load_catalog(), pa.Table.from_pylist(rows))
    assert whole is not None
    part = rendered_texts(spec, load_catalog(), pa.Table.from_pylist(rows[start:]), start)
    assert part == whole[start:]
    unshifted = rendered_texts(spec, load_catalog(), pa.Table.from_pylist(rows[start:]))
    assert unshifted != whole[start:]  # numbered from 0, the batch would shuffle other orders


def test_a_batch_renderer_of_the_wrong_length_is_an_error() -> None:
    evals = [EvalRecords.from_rows("eval", [{"question": QUESTIONS[0], "answer": "x"}])]
    with pytest.raises(ValueError, match="rendered texts for 1 rows, the batch has 3"):
        check_rows(_rows(3, {}), evals, lambda batch, start: [["x"]])


def test_a_batch_process_docs_fails_on_is_rendered_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """process_docs raising on one row of a batch (SeedError for the batch) must not switch the
    rendered check off for the other rows: they are rendered one by one, the failing row renders
    nothing (apply's normalise fails on it anyway)."""
    from tsqa.seeds import rendered
    from tsqa.seeds.errors import SeedError

    real = rendered.normalise
    table = _rows(5, {3: QUESTIONS[0]})

    def normalise(spec: TaskSpec, info: object, docs: pa.Table, **kw: object):  # type: ignore[no-untyped-def]
        if docs.num_rows > 1 or kw.get("first_index") == 1:  # the batch, and row 1 alone
            raise SeedError("process_docs failed: TypeError")
        return real(spec, None, docs, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(rendered, "normalise", normalise)
    texts = rendered_texts(_assembling_spec(), load_catalog(), table)
    assert texts is not None and texts[1] == [] and all(texts[i] for i in (0, 2, 3, 4))
    assert texts[3][0] == QUESTIONS[0]
    evals = [EvalRecords.from_rows("eval", [{"question": QUESTIONS[0], "answer": "x"}])]
    assert [
        m.row for m in check_rows(table, evals, partial(rendered_texts, _assembling_spec(), load_catalog())).matches
    ] == [3]
