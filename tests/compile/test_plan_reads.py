"""What a plan reads once, not once per spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plan_workspace import SPEC, Workspace

import tsqa.seeds.load
from tsqa.seeds.content import EvalRecords


def test_eval_store_records_are_read_once_per_spec_folder(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"question": f"What is {i} + {i}?", "choices": ["1", "2", str(2 * i)], "answer": 2} for i in range(3)]
    (ws.root / "specs" / "data").mkdir()
    for name in ("quiz", "quiz2", "quiz3"):
        (ws.root / "specs" / "data" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        spec = SPEC.replace("task: quiz", f"task: {name}").replace("data/quiz.jsonl", f"data/{name}.jsonl")
        (ws.root / "specs" / f"{name}.yaml").write_text(spec)
    read: list[Path] = []
    original = tsqa.seeds.load.project_eval_records

    def counted(spec_dir: Path) -> list[EvalRecords]:
        read.append(spec_dir)
        return original(spec_dir)

    monkeypatch.setattr(tsqa.seeds.load, "project_eval_records", counted)
    plan = ws.plan()
    assert [(t.task, t.sampled_rows, t.seed_rows) for t in plan.tasks] == [
        ("quiz", 3, 3),
        ("quiz2", 3, 3),
        ("quiz3", 3, 3),
    ]
    assert read == [ws.root / "specs"]
