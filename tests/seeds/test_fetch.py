"""`tsqa seeds fetch`: snapshots, identity, licence filter, and user errors without tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from seed_helpers import FIXTURES

from tsqa.cli import main
from tsqa.seeds.store import SeedStore
from tsqa.spec.load import load_project, load_spec

PROJECT = "version: 1\nname: p\nmodels: {generator: {engine: vllm, model: m}, solver: {engine: vllm, model: m}}\n"
SPECS = {
    "arc_easy": "task: arc_easy\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\nformat: multiple_choice\n",
    # same data as arc_easy under another task name: one snapshot
    "arc_copy": "task: arc_copy\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\nformat: multiple_choice\n",
    "trivia": "task: trivia\nseed: {lm_eval: triviaqa}\nformat: short_answer\n",
    "mine": "task: mine\nseed: {files: ../data/mine.jsonl, license: mit}\nformat: short_answer\n",
    "local_hf": "task: local_hf\nseed: {hf: {path: ../hfdata}, license: mit}\nformat: multiple_choice\n"
    "fields: {question: '{{ goal }}', choices: '{{ [sol1, sol2] }}', answer: '{{ label }}'}\n",
}


def project(tmp_path: Path, specs: dict[str, str] = SPECS) -> Path:
    (tmp_path / "tsqa.yaml").write_text(PROJECT)
    (tmp_path / "specs").mkdir()
    for name, text in specs.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.jsonl").write_text('{"question": "2+2?", "answer": "4"}\n')
    (tmp_path / "hfdata").mkdir()
    (tmp_path / "hfdata" / "train.jsonl").write_text((FIXTURES / "piqa" / "train.jsonl").read_text())
    (tmp_path / "hfdata" / "test.jsonl").write_text("never read\n")
    return tmp_path


def fetch(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["seeds", "fetch", str(root / "specs"), "--data-dir", str(FIXTURES), *args])


def outcomes(result: Result) -> dict[str, str]:
    """task → outcome, from lines "{outcome:>10}  {task}: {detail}"."""
    out = {}
    for line in result.output.splitlines():
        if ":" in line and not line.startswith(("Fetched", "error")):
            *outcome, task = line.split(":")[0].split()
            out[task] = " ".join(outcome)
    return out


def test_fetch_snapshots_then_skips(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = fetch(root)
    assert first.exit_code == 0, first.output
    assert outcomes(first) == {
        "arc_copy": "fetched",
        "arc_easy": "up to date",
        "trivia": "fetched",  # file order
        "mine": "fetched",
        "local_hf": "fetched",
    }
    loaded_project, _ = load_project(root / "tsqa.yaml")
    assert loaded_project is not None
    store = SeedStore.for_project(root / "tsqa.yaml", loaded_project.project)
    spec, _ = load_spec(root / "specs" / "arc_easy.yaml", loaded_project)
    assert spec is not None
    meta = store.meta(spec.spec)
    assert meta is not None and (meta.rows, meta.license, meta.split) == (3, "cc-by-sa-4.0", "train")
    assert len(list(store.root.iterdir())) == 4  # arc_easy and arc_copy share one snapshot
    raw = json.loads(next(store.root.glob("allenai_ai2_arc*/meta.json")).read_text())
    assert {
        "dataset_path",
        "dataset_name",
        "revision",
        "rows",
        "columns",
        "license",
        "tsqa_version",
        "fetched_at",
    } <= set(raw)

    again = fetch(root)
    assert set(outcomes(again).values()) == {"up to date"}
    # A changed file seed is fetched again.
    mine = root / "data" / "mine.jsonl"
    mine.write_text(mine.read_text() + '{"question": "3+3?", "answer": "6"}\n')
    os.utime(mine, ns=(1, 1))
    assert outcomes(fetch(root))["mine"] == "fetched"


def test_license_filter_excludes_unknown_by_default(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = fetch(root, "--license", "MIT")
    assert outcomes(result) == {
        "arc_easy": "skipped",
        "arc_copy": "skipped",
        "trivia": "skipped",
        "mine": "fetched",
        "local_hf": "fetched",
    }
    assert "licence unknown" in result.output
    assert outcomes(fetch(root, "--license", "mit", "--include-unknown-license"))["trivia"] == "fetched"


def test_errors_are_reported_per_spec_without_traceback(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            **SPECS,
            "eval": "task: eval\nseed: {lm_eval: arc_easy, split: test}\nformat: multiple_choice\n",
            "broken": "task: broken\nseed: {files: ../data/broken.jsonl}\nformat: short_answer\n",
            "invalid": "task: [oops\n",
        },
    )
    (root / "data" / "broken.jsonl").write_text('{"question": "ok"}\n{oops\n')
    result = fetch(root)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "error[seed-split-not-training] seed.split: expected the task's training split 'train', found 'test'" in (
        result.output
    )  # linted first, as plan and apply do: never read
    assert "broken.jsonl:2: invalid JSON" in result.output
    assert "invalid.yaml:" in result.output
    assert outcomes(result)["arc_copy"] == "fetched"  # the others continue
    assert result.output.strip().splitlines()[-1].startswith("Fetched 4, 1 up to date, 0 skipped, 3 failed")


def test_licence_from_the_dataset_card_when_the_spec_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tsqa.seeds.fetch as fetch_module

    asked: list[str] = []
    monkeypatch.setattr(fetch_module, "card_license", lambda repo: asked.append(repo) or "apache-2.0")
    root = project(tmp_path)
    result = fetch(root, "--license", "apache-2.0")
    assert outcomes(result)["trivia"] == "fetched" and asked == ["mandarjoshi/trivia_qa"]
    raw = json.loads(next((root / ".tsqa" / "seeds").glob("mandarjoshi*/meta.json")).read_text())
    assert (raw["license"], raw["license_source"]) == ("apache-2.0", "dataset card")
