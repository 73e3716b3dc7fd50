"""A small project in a temporary folder, compiled the way `tsqa plan` does it."""

from __future__ import annotations

from pathlib import Path

from tsqa.compile import Plan, compile_plan
from tsqa.lint import lint_paths
from tsqa.store.state import AppliedState

PROJECT = """\
version: 1
name: t
models:
  generator: {engine: vllm, model: org/gen-7b, revision: r1, max_model_len: 8192, throughput_tokens_per_s: 1000, workers: 2, tensor_parallel_size: 2}
  solver: {engine: openai, model: solver-8b, base_url: "http://127.0.0.1:9/v1", max_concurrency: 8, timeout_s: 30, throughput_tokens_per_s: 2000}
defaults:
  verify: {kind: vote, model: solver, samples: 5}
output: {dir: runs/t}
"""

SPEC = """\
# a comment
task: quiz
group: knowledge
seed:
  files: data/quiz.jsonl
  limit: 1000
  license: cc0-1.0
format: multiple_choice
generate:
  per_seed: 2
  sampling: {temperature: 0.9, max_tokens: 400}
enrich:
  variants: [reasoning, knowledge]
  sampling: {max_tokens: 300}
verify:
  samples: 5
  min_agreement: 0.6
  sampling: {max_tokens: 200}
dedup: {threshold: 0.8}
blend: {weight: 1.0}
"""


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "specs").mkdir()
        self.write(PROJECT, SPEC)

    def write(self, project: str | None = None, spec: str | None = None) -> None:
        if project is not None:
            (self.root / "tsqa.yaml").write_text(project)
        if spec is not None:
            (self.root / "specs" / "quiz.yaml").write_text(spec)

    def plan(self, state: AppliedState | None = None) -> Plan:
        checked = lint_paths([self.root / "specs"], project_file=self.root / "tsqa.yaml")
        assert checked.errors == 0, checked.diagnostics
        assert checked.project is not None
        return compile_plan(checked.project, checked.specs, state or AppliedState(), catalog_version="0.4.13")
