"""Class: a `datasets` packaged builder named as a hub id (`hf: {path: json}`). `load_dataset("json")`
with no files globs the working folder for `**/train*` (eval-named folders and folders outside the
project included), unguarded: refused by lint and by the read path, whatever the spelling."""

from __future__ import annotations

import pytest
from attack_helpers import EVAL_ROWS, Attack, Workspace

BUILDERS = [
    "json",
    "csv",
    "text",
    "parquet",
    "arrow",
    "pandas",
    "webdataset",
    "imagefolder",
    "JSON",
    "hf://datasets/json",
    "xml",
]


@pytest.mark.parametrize("builder", BUILDERS)
def test_packaged_builder_as_hub_id(ws: Workspace, builder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\nseed: {{hf: {{path: '{builder}'}}, license: mit}}\n",
            files={"heldout/train.jsonl": EVAL_ROWS},
        )
    )
    monkeypatch.chdir(ws.root)  # where `datasets` would glob
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


def test_read_path_refuses_a_packaged_builder_without_lint() -> None:
    """The reader itself refuses (a caller that skipped lint), before `datasets` is called."""
    from tsqa.seeds.errors import SeedPathRefused
    from tsqa.seeds.readers.hub import read_hub_split

    with pytest.raises(SeedPathRefused, match="packaged builder 'json'"):
        read_hub_split("json", None, "train")


def test_remote_data_files_through_a_builder_are_not_local() -> None:
    """lm-eval tasks reading `csv` + `hf://datasets/...` files stay allowed (nothing local is read)."""
    from tsqa.seeds.guard import packaged_builder

    assert packaged_builder("csv", {"train": "hf://datasets/org/x/train.csv"}) is None
    assert packaged_builder("csv", {"train": "data/train.csv"}) == "csv"
    assert packaged_builder("allenai/ai2_arc") is None
