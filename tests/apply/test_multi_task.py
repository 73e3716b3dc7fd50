"""Several tasks in one apply: duplicates across tasks are found, and each wave's engine is
released before the next wave loads another model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scripted_project import SPEC, script

from tsqa.apply.session import run_apply
from tsqa.engines.base import Request, Result
from tsqa.engines.scripted import ScriptedEngine


class LoggedEngine(ScriptedEngine):
    def __init__(self, model: str, log: list[tuple[str, str]]) -> None:
        super().__init__(script)
        self.model, self.log = model, log
        log.append(("load", model))

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        live = [m for event, m in self.log if event == "load"]
        closed = [m for event, m in self.log if event == "close"]
        assert len(live) - len(closed) == 1, f"two engines resident while {self.model} runs: {self.log}"
        yield from super().run(requests)

    def close(self) -> None:
        super().close()
        self.log.append(("close", self.model))


def _second_task(project: Path) -> None:
    # The same seeds and the same scripted answers: every question of `shades` duplicates one of `colours`.
    (project / "specs" / "shades.yaml").write_text(SPEC.replace("task: colours", "task: shades"))


def test_cross_task_dedup_and_engine_release_between_waves(project: Path) -> None:
    _second_task(project)
    log: list[tuple[str, str]] = []

    def factory(config: Any) -> LoggedEngine:
        return LoggedEngine(config.model, log)

    result = run_apply([project / "specs"], project_file=project / "tsqa.yaml", engine_factory=factory)
    # Waves: generate (generator) → solve (solver) → enrich (generator); never two models at once.
    assert log == [
        ("load", "local/generator"),
        ("close", "local/generator"),
        ("load", "local/solver"),
        ("close", "local/solver"),
        ("load", "local/generator"),
        ("close", "local/generator"),
    ]
    colours, shades = result.manifests["colours"], result.manifests["shades"]
    assert colours["dedup"].rows_out == 6 and colours["package"].rows_out == 5
    # The first task (by name) keeps each question; the other task's copies are duplicates of it.
    assert shades["dedup"].rows_in == 8 and shades["dedup"].rows_out == 0
    assert shades["dedup"].rejections == {"exact_duplicate": 8}
    assert shades["package"].rows_out == 0


def test_regenerating_one_task_re_dedups_the_other_without_model_calls(project: Path) -> None:
    _second_task(project)
    run_apply(
        [project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: ScriptedEngine(script)
    )
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text() + "dedup: {enabled: false}\n")
    calls: list[Request] = []

    def factory(config: Any) -> ScriptedEngine:
        engine = ScriptedEngine(script)
        engine.calls = calls
        return engine

    result = run_apply([project / "specs"], project_file=project / "tsqa.yaml", engine_factory=factory)
    assert calls == []  # only dedup and what follows it re-ran
    # colours no longer shares its corpus, so shades keeps its own questions (minus its own duplicate).
    assert result.manifests["shades"]["dedup"].rejections == {"exact_duplicate": 2}
    assert result.manifests["colours"]["dedup"].rows_out == 8
