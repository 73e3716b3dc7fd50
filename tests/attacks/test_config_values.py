"""Class: numbers in a spec that no setting can mean: `.nan` / `.inf` for any float (a blend
weight of infinity), integers over 64 bits (a 5000-digit decimal passes Python's int() limit and
ends in a traceback; a 20000-bit hex int cannot even be printed). Each: exit 1 at its position."""

from __future__ import annotations

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

BASE = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"
CASES = {
    "blend weight nan": "blend: {weight: .nan}\n",
    "blend weight inf": "blend: {weight: .inf}\n",
    "blend weight -inf": "blend: {weight: -.inf}\n",
    "temperature inf": "generate: {sampling: {temperature: .inf}}\n",
    "dedup threshold nan": "dedup: {threshold: .NaN}\n",
    "5000-digit decimal": "generate: {per_seed: " + "9" * 5000 + "}\n",
    "20000-bit hex": "generate: {per_seed: 0x" + "f" * 5000 + "}\n",
    "huge hex where any int fits": "generate: {sampling: {seed: 0x" + "f" * 5000 + "}}\n",
    "65-bit seed": "generate: {sampling: {seed: 36893488147419103232}}\n",
}


@pytest.mark.parametrize("extra", CASES.values(), ids=CASES.keys())
def test_unmeaning_numbers(ws: Workspace, extra: str) -> None:
    ws.build(Attack(BASE + extra, {"data/train.jsonl": TRAIN_ROWS}))
    result = ws.lint()
    ws.assert_refused(result)
    assert "attack.yaml:4:" in result.output, result.output
    ws.assert_refused(ws.plan())


def test_ordinary_numbers_pass(ws: Workspace) -> None:
    ws.build(
        Attack(
            BASE + "blend: {weight: 2.5}\ngenerate: {sampling: {seed: 18446744073709551615}}\n",
            {"data/train.jsonl": TRAIN_ROWS},
        )
    )
    result = ws.lint()
    assert result.exit_code == 0, result.output
