"""Class: a damaged seed snapshot or seed file seen by plan. meta.json's keys are not covered by
the content hash: a row count of NaN, -5, `true` or 5000 digits, invalid JSON, a deleted
data.parquet, a broken JSONL line in an unfetched seed file, an `Infinity` value: each is an error
naming the file (and line or key), never a note with a made-up row count, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

SPEC = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"


def _meta(ws: Workspace) -> Path:
    return next((ws.root / ".tsqa" / "seeds").glob("*/meta.json"))


ROWS = {"NaN": "NaN", "1e308": "1e308", "text": '"abc"', "negative": "-5", "zero": "0", "true": "true", "null": "null"}
ROWS |= {"5000 digits": "9" * 5000}


@pytest.mark.parametrize("value", ROWS.values(), ids=ROWS.keys())
def test_meta_row_count_damaged(ws: Workspace, value: str) -> None:
    ws.build(Attack(SPEC, {"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    path = _meta(ws)
    text = path.read_text()
    rows = json.loads(text)["rows"]
    path.write_text(text.replace(f'"rows": {rows}', f'"rows": {value}'))
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "meta.json" in result.output and "fetch --force" in result.output, result.output
    assert ws.fetch("--force").exit_code == 0  # what the message says to do works
    assert ws.plan().exit_code == 0


DAMAGE = {"invalid JSON": "{not json", "a list": "[]", "empty": "", "deep": "[" * 100_000 + "]" * 100_000}


@pytest.mark.parametrize("text", DAMAGE.values(), ids=DAMAGE.keys())
def test_meta_file_damaged(ws: Workspace, text: str) -> None:
    ws.build(Attack(SPEC, {"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    _meta(ws).write_text(text)
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "meta.json" in result.output, result.output
    assert ws.fetch().exit_code == 0  # a damaged snapshot is fetched again


def test_data_parquet_deleted(ws: Workspace) -> None:
    ws.build(Attack(SPEC, {"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    _meta(ws).with_name("data.parquet").unlink()
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "data.parquet" in result.output, result.output


BROKEN = {
    "garbage": ("this is not json\nneither is this\n", "train.jsonl:1: invalid JSON"),
    "broken last line": (TRAIN_ROWS + '{"question": "x", \n', "train.jsonl:3: invalid JSON"),
    "Infinity answer": (TRAIN_ROWS + '{"question": "How far?", "answer": Infinity}\n', "train.jsonl:3:"),
    "1e400 answer": (TRAIN_ROWS + '{"question": "How far?", "answer": 1e400}\n', "train.jsonl:3:"),
}


@pytest.mark.parametrize(("text", "where"), BROKEN.values(), ids=BROKEN.keys())
def test_plan_on_a_broken_seed_file(ws: Workspace, text: str, where: str) -> None:
    ws.build(Attack(SPEC, {"data/train.jsonl": text}))
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert where in result.output, result.output
    ws.assert_refused(ws.fetch(), rows_read=True)
