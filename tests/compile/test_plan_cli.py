"""`tsqa plan` as a user runs it: tables, --json, -o, --detailed-exitcode, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from plan_workspace import SPEC, Workspace

from tsqa.cli import main
from tsqa.compile.plan import Plan
from tsqa.compile.saved import applied_state, load_plan
from tsqa.store.state import AppliedState, save_state

REPO = Path(__file__).resolve().parents[2]


def run(ws: Workspace, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plan", str(ws.root / "specs"), "--project", str(ws.root / "tsqa.yaml"), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_detailed_exitcode_reports_work_then_nothing(ws: Workspace) -> None:
    code, out = run(ws, "--detailed-exitcode", "-o", str(ws.root / "plan.json"))
    assert code == 2
    assert "Plan: 1 new, 0 unchanged." in out and "quiz" in out
    saved = load_plan(ws.root / "plan.json")
    save_state(ws.root / "runs" / "t", applied_state(saved, AppliedState()))
    code, out = run(ws, "--detailed-exitcode")
    assert code == 0 and "No changes. 1 tasks are up to date." in out
    ws.write(spec=SPEC.replace("weight: 1.0", "weight: 2"))
    code, out = run(ws, "--detailed-exitcode")
    assert code == 2 and "1 re-blend" in out and "0.00 GPU-hours" in out


def test_without_detailed_exitcode_work_exits_0(ws: Workspace) -> None:
    assert run(ws)[0] == 0


def test_json_output(ws: Workspace) -> None:
    code, out = run(ws, "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["tasks"][0]["task"] == "quiz" and payload["tasks"][0]["change"] == "new"
    assert [s["stage"] for s in payload["tasks"][0]["stages"]][:3] == ["seeds", "normalise", "generate"]
    assert len(payload["input_digest"]) == 64


def test_lint_errors_stop_the_plan(ws: Workspace) -> None:
    ws.write(spec=SPEC.replace("format: multiple_choice", "format: essay"))
    code, out = run(ws, "--detailed-exitcode")
    assert code == 1 and "error[schema] format" in out and "Plan:" not in out


def test_damaged_state_is_a_clear_error(ws: Workspace) -> None:
    (ws.root / "runs" / "t").mkdir(parents=True)
    (ws.root / "runs" / "t" / "state.json").write_text("{broken")
    code, out = run(ws)
    assert code == 1 and "unreadable applied state" in out and "Traceback" not in out


def test_example_project_plans() -> None:
    result = CliRunner().invoke(main, ["plan", str(REPO / "specs"), "--project", str(REPO / "tsqa.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert len(plan["tasks"]) == len(list((REPO / "specs").glob("*.yaml")))


def test_without_paths_the_project_specs_list_is_used(ws: Workspace) -> None:
    (ws.root / "specs").rename(ws.root / "tasks")
    project = ws.root / "tsqa.yaml"
    project.write_text(project.read_text() + "specs: [tasks]\n")
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--json"])
    assert result.exit_code == 0, result.output
    assert [t["task"] for t in json.loads(result.output)["tasks"]] == ["quiz"]


def test_json_of_many_specs_is_the_plan_itself_not_console_text(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """--json bypasses rich (its wrapping cost seconds on 700 specs and could reflow long lines):
    the output is exactly the plan model's JSON, long values on one line."""
    import tsqa.cli

    long = "a description longer than any terminal " * 10
    for i in range(40):
        spec = SPEC.replace("task: quiz", f"task: quiz{i:02d}\ndescription: {long.strip()}")
        (ws.root / "specs" / f"quiz{i:02d}.yaml").write_text(spec)

    def no_console(*args: object, **kwargs: object) -> None:
        raise AssertionError("--json went through the rich console")

    monkeypatch.setattr(tsqa.cli.console, "print", no_console)
    monkeypatch.setattr(tsqa.cli.console, "out", no_console)
    code, out = run(ws, "--json")
    assert code == 0
    plan = Plan.model_validate_json(out)
    assert len(plan.tasks) == 41
    assert out == plan.model_dump_json(indent=2) + "\n"
    assert max(len(line) for line in out.splitlines()) > 1000  # prompt templates: one line each, unwrapped


@pytest.mark.parametrize("spec_change", [None, "format: essay"], ids=["plan", "lint errors"])
def test_the_collector_settings_come_back_after_a_plan(ws: Workspace, spec_change: str | None) -> None:
    """The plan collects cycles less often while it runs; a caller in the same process (this test
    session) gets its own thresholds back, or its garbage, and unclosed files' warnings, would wait
    for some unrelated later collection."""
    import gc

    if spec_change is not None:
        ws.write(spec=SPEC.replace("format: multiple_choice", spec_change))
    before = gc.get_threshold()
    gc.set_threshold(321, 9, 8)
    try:
        run(ws, "--json")
        assert gc.get_threshold() == (321, 9, 8)
    finally:
        gc.set_threshold(*before)


def test_the_command_ends_with_its_exit_code_and_all_its_output(ws: Workspace) -> None:
    """As a process of its own, `tsqa plan` exits without tearing the interpreter down: the exit
    code and the whole JSON must still arrive (through a pipe, flushed before the exit)."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "tsqa.cli", "plan", str(ws.root / "specs"), "--project", str(ws.root / "tsqa.yaml")]
    changes = subprocess.run([*args, "--json", "--detailed-exitcode"], capture_output=True, text=True, check=False)
    assert changes.returncode == 2, changes.stderr
    assert json.loads(changes.stdout)["tasks"][0]["task"] == "quiz"
    plain = subprocess.run([*args, "-o", str(ws.root / "plan.json")], capture_output=True, text=True, check=False)
    assert plain.returncode == 0 and "Saved the plan to" in plain.stdout
    assert load_plan(ws.root / "plan.json").tasks[0].task == "quiz"


def test_a_failed_save_leaves_the_previous_plan_whole(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    target = ws.root / "plan.json"
    assert run(ws, "-o", str(target))[0] == 0
    before = target.read_bytes()
    ws.write(spec=SPEC.replace("weight: 1.0", "weight: 2"))

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    code, out = run(ws, "-o", str(target))
    assert code == 1 and "cannot write the plan (No space left on device)" in out
    assert target.read_bytes() == before  # not a half-written file
    assert sorted(p.name for p in ws.root.iterdir() if p.name.startswith(".tmp")) == []
