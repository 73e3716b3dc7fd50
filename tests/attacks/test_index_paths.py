"""Class: a `dedup.index` path that reads the machine (`/dev/zero` never ends, `/proc/self/environ`,
`/proc/self/root/…`): refused by lint (index-file-unsafe), and by the stage that loads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

BASE = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"
PATHS = [
    "/dev/zero",
    "/proc/self/environ",
    "/sys/kernel/notes",
    "/proc/self/root/etc/passwd",
    "../../../../../../proc/self/environ",
]


@pytest.mark.parametrize("path", PATHS)
def test_index_through_a_system_path(ws: Workspace, path: str) -> None:
    ws.build(
        Attack(BASE + f"dedup: {{against: [seeds, index], index: ['{path}']}}\n", {"data/train.jsonl": TRAIN_ROWS})
    )
    result = ws.lint()
    ws.assert_refused(result)
    assert "index-file-unsafe" in result.output
    ws.assert_refused(ws.plan())


def test_the_stage_refuses_it_below_lint() -> None:
    from tsqa.stages.base import StageError
    from tsqa.stages.dedup import _load_index

    with pytest.raises(StageError, match="system path"):
        _load_index(Path("/dev/zero"), {"threshold": 0.8, "num_perm": 128, "ngram": 5, "shingle": "word"})
