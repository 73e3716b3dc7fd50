"""Class: a template that fails on every sampled seed record (`{{ 1/0 }}`, a type error, an
overflow): plan is an error naming the template's line and the first record, not exit 0 with a
plan whose every request would fail."""

from __future__ import annotations

import json

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

BASE = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"
FAILING = {
    "divide by zero": "{{ 1/0 }}",
    "sum of strings": "{{ [question]*10 |sum(start='') }}",
    "undefined attribute call": "{{ question.nope() }}",
}


@pytest.mark.parametrize("template", FAILING.values(), ids=FAILING.keys())
def test_prompt_failing_on_every_record(ws: Workspace, template: str) -> None:
    spec = BASE + "generate:\n  prompt: {inline: " + json.dumps(template + " {{ question }}") + "}\n"
    ws.build(Attack(spec, {"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "attack.yaml:5:" in result.output and "every one of" in result.output, result.output


@pytest.mark.parametrize("template", FAILING.values(), ids=FAILING.keys())
def test_field_failing_on_every_record(ws: Workspace, template: str) -> None:
    spec = BASE + "fields:\n  question: " + json.dumps(template) + "\n  answer: '{{ answer }}'\n"
    ws.build(Attack(spec, {"data/train.jsonl": TRAIN_ROWS}))
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "attack.yaml:4:" in result.output and "train.jsonl:1" in result.output, result.output


def test_a_template_failing_on_some_records_plans(ws: Workspace) -> None:
    """Control: one record fails (its own per-record error at apply), the plan goes on."""
    spec = BASE + "fields:\n  question: \"{{ question if answer != '8' else 1/0 }}\"\n  answer: '{{ answer }}'\n"
    ws.build(Attack(spec, {"data/train.jsonl": TRAIN_ROWS}))
    result = ws.plan()
    assert result.exit_code == 0, result.output
