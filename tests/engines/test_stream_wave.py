"""`tsqa apply` on several tasks: each wave's model stage is one engine stream across tasks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

from scripted_project import SPEC, script, write_project

from tsqa.apply.session import run_apply
from tsqa.engines.base import EngineStream
from tsqa.engines.scripted import ScriptedEngine


class CountingEngine(ScriptedEngine):
    def __init__(self) -> None:
        super().__init__(script, max_in_flight=16, per_step=2)
        self.streams = 0
        self.runs = 0

    def open_stream(self) -> EngineStream:
        self.streams += 1
        return super().open_stream()

    def run(self, requests: Any) -> Any:  # the per-call path must not be used any more
        self.runs += 1
        return super().run(requests)


def packaged(root: Path, task: str) -> list[dict[str, Any]]:
    files = sorted((root / "run" / "datasets" / task).glob("part-*.parquet"))
    return sorted((r for p in files for r in pq.read_table(p).to_pylist()), key=lambda r: str(r["id"]))


def test_every_task_of_a_wave_shares_one_stream_and_rows_match_one_task_runs(tmp_path: Path) -> None:
    multi, single = tmp_path / "multi", tmp_path / "single"
    write_project(multi)
    write_project(single)
    names = ["colours", "tints", "hues", "shades"]
    for name in names[1:]:
        (multi / "specs" / f"{name}.yaml").write_text(SPEC.replace("task: colours", f"task: {name}"))
    engines: list[CountingEngine] = []

    def factory(config: Any) -> CountingEngine:
        engines.append(CountingEngine())
        return engines[-1]

    run_apply([multi / "specs"], project_file=multi / "tsqa.yaml", engine_factory=factory)
    # Waves: generate (generator), solve (solver), enrich (generator): one stream each, for all 4 tasks.
    assert [e.streams for e in engines] == [1, 1, 1] and all(e.runs == 0 for e in engines)
    assert max(e.peak_in_flight for e in engines) == 16  # more than one task's chunk (3) in the engine at once
    run_apply([single / "specs"], project_file=single / "tsqa.yaml", engine_factory=lambda c: CountingEngine())
    a, b = packaged(multi, "colours"), packaged(single, "colours")
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        # provenance names the plan, which differs (four specs vs one); every data column is equal
        assert {k: (x[k], y[k]) for k in x if x[k] != y[k] and k != "provenance"} == {}
