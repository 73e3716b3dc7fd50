"""A one-task project compiled the way `tsqa plan` does it, for stage tests."""

from __future__ import annotations

from pathlib import Path

from tsqa.compile import compile_plan
from tsqa.compile.plan import Plan
from tsqa.lint import lint_paths
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.store.state import AppliedState

PROJECT = """\
name: p
models:
  generator: {engine: vllm, model: org/gen, revision: r1, max_model_len: 4096}
  solver: {engine: openai, model: org/solver, base_url: "http://127.0.0.1:9/v1"}
output: {dir: run}
"""
SPEC = """\
task: quiz
group: science
seed: {files: seeds.jsonl, license: cc-by-4.0}
format: multiple_choice
verify: {kind: vote, model: solver, samples: 4}
decontaminate: {eval_files: [eval.jsonl], ngram: 6}
"""


class Compiled:
    def __init__(self, root: Path) -> None:
        (root / "specs").mkdir()
        (root / "tsqa.yaml").write_text(PROJECT)
        (root / "specs" / "quiz.yaml").write_text(SPEC)
        (root / "specs" / "seeds.jsonl").write_text('{"question": "q?", "choices": ["a", "b"], "answer": 0}\n')
        (root / "specs" / "eval.jsonl").write_text(
            '{"question": "which gas do green plants release into the air during photosynthesis", "answer": "oxygen"}\n'
        )
        checked = lint_paths([root / "specs"], project_file=root / "tsqa.yaml")
        assert checked.project is not None and not checked.errors, checked.diagnostics
        self.project: LoadedProject = checked.project
        self.loaded: LoadedSpec = checked.specs[0]
        self.plan: Plan = compile_plan(self.project, checked.specs, AppliedState(), catalog_version="x")
