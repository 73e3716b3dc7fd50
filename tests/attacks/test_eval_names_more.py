"""Class: eval names in more languages and scripts (Thai, Italian, Dutch, Vietnamese, Turkish,
Polish, French), English inflections, names shown reversed by a bidi override and turned
(upside-down) letters: refused by lint and by fetch, as a file and as a folder."""

from __future__ import annotations

import pytest
from attack_helpers import EVAL_ROWS, TRAIN_ROWS, Attack, Workspace

NAMES = ["ทดสอบ", "prova", "toets", "kiểm_tra", "sınav", "sprawdzian", "essai", "validating", "evaluated"]
NAMES += ["\u202etset", "train\u2067", "ʇsǝʇ", "uoıʇɐpılɐʌ"]


@pytest.mark.parametrize("where", ["file", "folder"])
@pytest.mark.parametrize("name", NAMES)
def test_eval_named_paths(ws: Workspace, name: str, where: str) -> None:
    path = f"data/{name}.jsonl" if where == "file" else f"data/{name}/train.jsonl"
    ws.build(
        Attack(f"task: attack\nformat: short_answer\nseed: {{files: '../{path}', license: mit}}\n", {path: EVAL_ROWS})
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.parametrize("name", ["contest", "essays", "proverbs", "controller", "testimony", "latest"])
def test_ordinary_names_pass(ws: Workspace, name: str) -> None:
    path = f"data/{name}/train.jsonl"
    ws.build(
        Attack(f"task: attack\nformat: short_answer\nseed: {{files: '../{path}', license: mit}}\n", {path: TRAIN_ROWS})
    )
    result = ws.lint()
    assert result.exit_code == 0, result.output
