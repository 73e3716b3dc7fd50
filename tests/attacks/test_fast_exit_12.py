"""Class: `tsqa plan` as a command ends with `os._exit` after flushing its streams (branch s12). A
command started with stdout or stderr closed (`>&-`: Python sets `sys.stdout` to None) must end as
before, with its exit code and no traceback; a reader that goes away early must turn into exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from attack_helpers import PROJECT, TRAIN_ROWS

SPEC = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "tsqa.yaml").write_text(PROJECT)
    (tmp_path / "specs" / "attack.yaml").write_text(SPEC)
    (tmp_path / "data" / "train.jsonl").write_text(TRAIN_ROWS * 20)
    return tmp_path


def _plan(project: Path, *extra: str, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m tsqa.cli plan …` (the command's own entry, `run`), through a shell so a stream
    can be closed or piped."""
    args = [sys.executable, "-m", "tsqa.cli", "plan", "specs/attack.yaml", "--project", "tsqa.yaml", *extra]
    line = " ".join(f"'{a}'" for a in args) + " " + shell_tail
    return subprocess.run(
        ["bash", "-c", line], cwd=project, capture_output=True, text=True, check=False, env=os.environ
    )


@pytest.mark.parametrize("closed", ["1", "2"], ids=["stdout closed", "stderr closed"])
def test_a_closed_stream_at_start_ends_without_a_traceback(project: Path, closed: str) -> None:
    """`tsqa plan >&-` on main: exit 0, nothing written. On s12 `_end_command` called
    `sys.stdout.flush()` on None: an AttributeError traceback and exit 1 (fixed on attack12)."""
    if closed == "1":
        result = _plan(project, shell_tail=">&-")
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    else:  # stderr closed: the JSON must still arrive whole, exit 2 with --detailed-exitcode
        result = _plan(project, "--json", "--detailed-exitcode", shell_tail="2>&-")
        assert result.returncode == 2, result.stdout[-500:]
        assert json.loads(result.stdout)["tasks"][0]["task"] == "attack"


def test_a_reader_gone_early_is_exit_1_and_a_saved_plan_is_whole(project: Path) -> None:
    gone = subprocess.run(
        [
            "bash",
            "-c",
            f"'{sys.executable}' -m tsqa.cli plan specs/attack.yaml --project tsqa.yaml --json | true; exit ${{PIPESTATUS[0]}}",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert gone.returncode == 1, gone.stderr
    assert "Traceback" not in gone.stderr, gone.stderr
    saved = _plan(project, "-o", "plan.json", "--detailed-exitcode", shell_tail="> /dev/null")
    assert saved.returncode == 2, saved.stderr
    as_json = _plan(project, "--json")
    assert json.loads((project / "plan.json").read_text()) == json.loads(as_json.stdout)
    assert not list(project.glob(".tmp-*")), "a temporary file of the saved plan was left behind"
