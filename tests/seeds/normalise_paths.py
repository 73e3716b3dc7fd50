"""A one-task project for comparing normalise's two paths: the stage's stream (rows of plain-column
fields taken as Arrow columns, `seeds/normalise_columns.py`) and `process` (one document at a time)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.compile import compile_plan
from tsqa.lint import lint_paths
from tsqa.stages.base import TaskContext
from tsqa.stages.normalise import NormaliseStage
from tsqa.store.state import AppliedState

PROJECT = """\
name: p
models:
  generator: {engine: openai, model: org/gen, base_url: "http://127.0.0.1:9/v1"}
output: {dir: run}
"""


def normalise_task(root: Path, fmt: str, fields: str = "", seed_row: str | None = None) -> TaskContext:
    """Task `t` of a files seed in format `fmt`, with `fields` (spec YAML) when given."""
    (root / "specs").mkdir(parents=True)
    (root / "tsqa.yaml").write_text(PROJECT)
    extra = "verify: {kind: none}\n" if fmt == "free_form" else ""
    (root / "specs" / "t.yaml").write_text(
        f"task: t\nseed: {{files: seeds.jsonl, license: cc0-1.0}}\nformat: {fmt}\n{fields}{extra}"
    )
    row = seed_row or '{"question": "q?", "choices": ["ab", "cd"], "answer": 0}'
    (root / "specs" / "seeds.jsonl").write_text(row + "\n")
    checked = lint_paths([root / "specs"], project_file=root / "tsqa.yaml")
    assert checked.project is not None and not checked.errors, checked.diagnostics
    plan = compile_plan(checked.project, checked.specs, AppliedState(), catalog_version="x")
    return TaskContext(checked.specs[0], checked.project, plan.tasks[0], None, None, None)  # type: ignore[arg-type]


def both_paths(task: TaskContext, table: pa.Table, cuts: list[int]) -> tuple[Any, Any]:
    """(`process` of the whole table, the stream's outputs over the table cut at `cuts`)."""
    stage = NormaliseStage()
    whole = stage.process(table, task)  # one document at a time
    bounds = [0, *sorted(c for c in cuts if 0 < c < table.num_rows), table.num_rows]
    shards = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    return whole, list(stage.process_stream(iter(shards), task))


def same_result(whole: Any, parts: Any) -> None:
    """The stream's records and rejects are `process`'s."""
    kept = pa.concat_tables([p.kept for p in parts])
    assert kept.to_pylist() == whole.kept.to_pylist()
    assert kept.schema.equals(whole.kept.schema)
    assert pa.concat_tables([p.rejects for p in parts]).to_pylist() == whole.rejects.to_pylist()
