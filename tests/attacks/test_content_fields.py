"""Class: an eval question rendered by a field template other than the question (the context, an
option, the answer): every rendered field is compared, not only the question."""

from __future__ import annotations

import pytest
from attack_helpers import Attack, Workspace
from test_content import EVAL, jsonl, with_eval_store

SEED = "seed: {files: ../data/train.jsonl, license: mit, columns: [c, a]}\n"
CASES = {
    "context reversed back": ("multiple_choice", '{question: "Name a colour.", context: "{{ c[::-1] }}", choices: "{{ [\'red\', a] }}", answer: "1"}'),
    "context joined from words": ("short_answer", '{question: "Name a colour.", context: "{{ c|replace(\'#\', \' \') }}", answer: "{{ a }}"}'),
    "answer reversed back": ("short_answer", '{question: "Name a colour please.", answer: "{{ c[::-1] }}"}'),
}  # fmt: skip


@pytest.mark.parametrize(("fmt", "fields"), CASES.values(), ids=CASES.keys())
def test_eval_question_in_another_rendered_field(ws: Workspace, fmt: str, fields: str) -> None:
    rows = []
    for r in EVAL:
        q = r["question"]
        rows.append({"c": q.replace(" ", "#") if "replace" in fields else q[::-1], "a": "blue"})
    ws.build(Attack(f"task: attack\nformat: {fmt}\n{SEED}fields: {fields}\n", {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows" in result.output, result.output
