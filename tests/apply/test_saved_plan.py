"""A saved plan is the program: apply checks its inputs' digests and executes it as written,
without recompiling (prompts, model identity, sampling and chunking come from the file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_project import scripted_engine

from tsqa.apply import session
from tsqa.apply.session import ApplyFailed, run_apply
from tsqa.compile import compile_plan
from tsqa.compile.saved import save_plan
from tsqa.lint import lint_paths
from tsqa.prompts import builtin_prompt_text
from tsqa.seeds.catalog import load_catalog
from tsqa.store.state import AppliedState


def save(project: Path) -> Path:
    checked = lint_paths([project / "specs"], project_file=project / "tsqa.yaml")
    assert checked.project is not None
    plan = compile_plan(checked.project, checked.specs, AppliedState(), catalog_version=load_catalog().lm_eval_version)
    save_plan(plan, project / "plan.json")
    return project / "plan.json"


def test_the_saved_plan_holds_the_resolved_model_calls(project: Path) -> None:
    stages = {s["stage"]: s for s in json.loads(save(project).read_text())["tasks"][0]["stages"]}
    generate, solve, enrich = stages["generate"]["call"], stages["solve"]["call"], stages["enrich"]["call"]
    assert generate["prompts"] == {"": builtin_prompt_text("similar_question")}
    assert generate["identity"] == {
        "engine": "vllm",
        "model": "local/generator",
        "revision": None,
        "tokenizer": None,
        "dtype": "auto",
    }
    assert generate["chunk_size"] == 3 and generate["requests_per_row"] == 1
    assert solve["model"] == "solver" and solve["samples"] == 3
    assert list(enrich["prompts"]) == ["reasoning", "knowledge"] and enrich["requests_per_row"] == 2
    assert stages["parse"]["call"] is None


def test_apply_executes_the_saved_plan_without_recompiling(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_file = save(project)
    payload = json.loads(plan_file.read_text())
    # The plan, not the spec, says what the prompt is: an edit to the plan file is what runs.
    generate = next(s for s in payload["tasks"][0]["stages"] if s["stage"] == "generate")
    generate["call"]["prompts"][""] = "PLANNED PROMPT for {{ question }}"
    plan_file.write_text(json.dumps(payload))

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("a saved plan is executed, not recompiled")

    monkeypatch.setattr(session, "compile_plan", no_compile)
    engine = scripted_engine()
    run_apply([plan_file], engine_factory=lambda cfg: engine)
    prompts = [c.messages[0].content for c in engine.calls if "/generate/" in c.id]
    assert len(prompts) == 6 and all(p.startswith("PLANNED PROMPT for What colour is") for p in prompts)


def test_a_saved_plan_refuses_limit_and_stale_inputs(project: Path) -> None:
    plan_file = save(project)
    with pytest.raises(ApplyFailed) as info:
        run_apply([plan_file], limit=2, engine_factory=lambda cfg: scripted_engine())
    assert "--limit changes what a saved plan does" in info.value.lines[0]
    evals = project / "specs" / "eval.jsonl"  # an input that is neither a spec nor the project file
    evals.write_text(evals.read_text() + '{"question": "another eval item", "answer": "x"}\n')
    with pytest.raises(ApplyFailed) as info:
        run_apply([plan_file], engine_factory=lambda cfg: scripted_engine())
    assert "is stale" in info.value.lines[0] and info.value.lines[1] == f"  {evals}"
