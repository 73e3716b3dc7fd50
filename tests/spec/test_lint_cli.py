"""`tsqa lint` as a user runs it: exit codes, the three output formats, --strict."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tsqa.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_example_specs_are_clean() -> None:
    code, out = run(str(REPO / "specs"), "--project", str(REPO / "tsqa.yaml"))
    assert code == 0, out
    assert "All checks passed" in out
    assert len(list((REPO / "specs").glob("*.yaml"))) >= 12


def test_errors_exit_1_with_file_line_col(fixtures: Path, project_file: Path) -> None:
    path = fixtures / "bad" / "seed_split_test.yaml"
    code, out = run(str(path), "--project", str(project_file))
    assert code == 1
    assert (
        f"{path}:5:10: error[seed-split-not-training] seed.split: expected the task's training split 'train', found 'test'"
        in out
    )
    assert out.strip().endswith("Found 1 error and 0 warnings in 2 files.")


def test_warnings_pass_unless_strict(fixtures: Path, project_file: Path) -> None:
    path = str(fixtures / "bad" / "missing_license.yaml")
    assert run(path, "--project", str(project_file))[0] == 0
    code, out = run(path, "--project", str(project_file), "--strict")
    assert code == 1 and "error[missing-license]" in out


def test_json_format(fixtures: Path, project_file: Path) -> None:
    code, out = run(str(fixtures / "bad" / "negative_weight.yaml"), "--project", str(project_file), "--format", "json")
    payload = json.loads(out)
    assert code == 1
    assert payload["errors"] == 1 and payload["warnings"] == 0
    assert payload["diagnostics"] == [
        {
            "file": str(fixtures / "bad" / "negative_weight.yaml"),
            "line": 5,
            "col": 11,
            "rule": "negative-weight",
            "severity": "error",
            "field": "blend.weight",
            "message": "blend weight must be ≥ 0, found -0.5",
        }
    ]


def test_github_format(fixtures: Path, project_file: Path) -> None:
    path = fixtures / "bad" / "undeclared_model.yaml"
    code, out = run(str(path), "--project", str(project_file), "--format", "github")
    assert code == 1
    assert out.splitlines()[0] == (
        f"::error file={path},line=5,col=10,title=tsqa undeclared-model::enrich.model: model 'genrator' "
        "is not declared in tsqa.yaml (declared: generator, solver)"
    )


def test_explain_and_list_rules() -> None:
    result = CliRunner().invoke(main, ["lint", "--explain", "seed-split-not-training"])
    assert result.exit_code == 0 and "eval data must never become seed data" in result.output
    result = CliRunner().invoke(main, ["lint", "--list-rules"])
    assert "duplicate-task" in result.output and "yaml-tag" in result.output
    result = CliRunner().invoke(main, ["lint", "--explain", "no-such-rule"])
    assert result.exit_code == 2 and "unknown rule" in result.output
