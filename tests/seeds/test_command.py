"""`tsqa seeds list`: its counts against the installed registry, its filters and its errors."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner

from tsqa.cli import main
from tsqa.seeds.catalog import Catalog


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["seeds", "list", *args])


def test_summary_counts_match_registry(training_configs: dict[str, dict[str, Any]], task_manager: Any) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    # Family = first folder under lm_eval/tasks/, read here from the registry's own paths.
    families = {
        task_manager.task_index[n].yaml_path.as_posix().split("/lm_eval/tasks/")[1].split("/")[0]
        for n in training_configs
    }
    match = re.match(r"(\d+) tasks with a training split in (\d+) famil", summary)
    assert match, summary
    assert (int(match.group(1)), int(match.group(2))) == (len(training_configs), len(families))
    for kind, n in Counter(c.get("output_type") or "generate_until" for c in training_configs.values()).items():
        assert f"{n} {kind}" in summary
        assert re.search(rf"^{kind}: {n} tasks", result.output, re.MULTILINE)


def test_json_counts_match_registry(training_configs: dict[str, dict[str, Any]]) -> None:
    result = run("--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["counts"]["tasks"] == len(training_configs) == len(doc["tasks"])
    assert {t["name"] for t in doc["tasks"]} == set(training_configs)
    usable = [t for t in doc["tasks"] if t["excluded"] is None]
    assert doc["counts"]["usable"] == len(usable)
    assert all(t["group"] in ("knowledge", "reasoning") for t in usable)


def test_filters_narrow_the_listing() -> None:
    doc = json.loads(run("--json", "--family", "arc", "--output-type", "multiple_choice").output)
    assert sorted(t["name"] for t in doc["tasks"]) == ["arc_challenge", "arc_easy"]
    doc = json.loads(run("--json", "--lang", "de", "--usable").output)
    assert doc["tasks"] and all(t["language"] == "de" and t["excluded"] is None for t in doc["tasks"])
    doc = json.loads(run("--json", "--group", "knowledge").output)
    assert doc["tasks"] and {t["group"] for t in doc["tasks"]} == {"knowledge"}


def test_table_shows_flags_and_reasons() -> None:
    out = run("--family", "gpqa").output
    assert "excluded: training split 'train' is also the" in out
    assert "letter-only choices" in run("--family", "commonsense_qa").output
    assert "multiple-input" in run("--family", "winogrande").output
    assert "same data: leaderboard_math_algebra_hard" in run("--family", "hendrycks_math").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "arcc"], "did you mean arc"),
        (["--lang", "xx"], "no task with a training split has language 'xx'"),
        (["--output-type", "nope"], "Invalid value for '--output-type'"),
    ],
)
def test_user_errors_are_messages_not_tracebacks(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's usage error, not a crash


def test_from_installed_equals_snapshot(monkeypatch: pytest.MonkeyPatch, installed_catalog: Catalog) -> None:
    from tsqa.seeds import command

    monkeypatch.setattr(command, "build_catalog", lambda: installed_catalog)  # reuse the session's TaskManager
    assert run("--json", "--from-installed").output == run("--json").output


def test_broken_snapshot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from tsqa.seeds import catalog, command

    monkeypatch.setattr(command, "load_catalog", lambda: catalog.read_snapshot(tmp_path / "gone.json"))
    result = run()
    assert result.exit_code == 1
    assert "catalogue snapshot not found" in result.output and "Traceback" not in result.output
