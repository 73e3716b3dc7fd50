"""Estimate arithmetic on a hand-checked example, targets and budgets, measured rates, the
token-budget check, waves, and saved plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_workspace import PROJECT, SPEC, Workspace

from tsqa.compile.saved import PlanError, applied_state, load_plan, save_plan, stale_inputs
from tsqa.compile.stages import Stage
from tsqa.store.state import AppliedState, TaskState

# Inline prompts of known size: the heuristic counter gives bytes/4 + 12 template-overhead tokens.
KNOWN_PROMPTS = (
    SPEC.replace(
        "  per_seed: 2\n",
        "  per_seed: 2\n  prompt: {inline: '" + "g" * 400 + "'}\n",  # 100 + 12 = 112
    )
    .replace(
        "  samples: 5\n",
        "  samples: 5\n  prompt: {inline: '" + "s" * 200 + "'}\n",  # 50 + 12 = 62
    )
    .replace(
        "  variants: [reasoning, knowledge]\n",
        "  variants: [reasoning, knowledge]\n  prompts: {reasoning: {inline: '"
        + "r" * 80
        + "'}, knowledge: {inline: '"
        + "k" * 80
        + "'}}\n",  # 20 + 12 = 32
    )
)


def stages(ws: Workspace, state: AppliedState | None = None) -> dict[Stage, object]:
    return {s.stage: s.estimate for s in ws.plan(state).tasks[0].stages}


def test_hand_checked_example(ws: Workspace) -> None:
    ws.write(spec=KNOWN_PROMPTS)
    plan = ws.plan()
    task = plan.tasks[0]
    est = {s.stage: s.estimate for s in task.stages}
    assert (task.seed_rows, task.seed_rows_source, task.used_seed_rows) == (1000, "limit", 1000)
    assert task.prompt_tokens_method == "heuristic:bytes/4"

    gen = est[Stage.GENERATE]
    assert (gen.requests, gen.rows_out, gen.prompt_tokens, gen.output_tokens) == (1000, 2000, 112_000, 200_000)
    # 1000 tok/s per worker, 2 tensor-parallel GPUs; prefill at 0.1 of a decoded token
    assert gen.gpu_hours == pytest.approx((200_000 + 0.1 * 112_000) / 1000 / 3600 * 2)

    assert est[Stage.PARSE].rows_out == pytest.approx(1700)  # × 0.85
    solve = est[Stage.SOLVE]
    assert (solve.requests, solve.sequences) == (pytest.approx(1700), pytest.approx(8500))
    assert solve.prompt_tokens == pytest.approx(1700 * 62)  # n=5 share one prefill
    assert solve.output_tokens == pytest.approx(8500 * 200 * 0.4)
    assert solve.gpu_hours == pytest.approx((680_000 + 0.1 * 105_400) / 2000 / 3600)  # openai: 1 GPU
    assert est[Stage.VERIFY].rows_out == pytest.approx(1020)  # × 0.6
    enrich = est[Stage.ENRICH]
    assert (enrich.requests, enrich.prompt_tokens, enrich.output_tokens) == (
        pytest.approx(2040),
        pytest.approx(2040 * 32),
        pytest.approx(2040 * 300 * 0.5),
    )
    assert task.expected_rows == pytest.approx(2040 * 0.95 * 0.99)
    assert task.gpu_hours == pytest.approx(gen.gpu_hours + solve.gpu_hours + enrich.gpu_hours)
    assert plan.totals.requests == pytest.approx(1000 + 1700 + 2040)


def test_target_rows_and_candidate_budget_cap_the_seeds(ws: Workspace) -> None:
    ws.write(spec=SPEC.replace("weight: 1.0}", "weight: 1.0, target_rows: 500}"))
    task = ws.plan().tasks[0]
    per_seed = 2 * 0.85 * 0.6 * 2 * 0.95 * 0.99
    assert task.used_seed_rows == 261 == -(-500 // per_seed)
    assert task.expected_rows == pytest.approx(261 * per_seed) and task.expected_rows >= 500
    ws.write(spec=SPEC.replace("weight: 1.0}", "weight: 1.0, target_rows: 500, max_candidates: 300}"))
    assert ws.plan().tasks[0].used_seed_rows == 150  # 300 candidates / 2 per seed


def test_measured_rates_replace_the_defaults(ws: Workspace) -> None:
    applied = applied_state(ws.plan(), AppliedState())
    base = ws.plan(applied).tasks[0]
    applied.tasks["quiz"] = TaskState(
        stages=applied.tasks["quiz"].stages, rates={"verify": 0.3}, output_ratio={"enrich": 1.0}
    )
    ws.write(spec=SPEC.replace("weight: 1.0", "weight: 3"))  # something to do, no GPU
    task = ws.plan(applied).tasks[0]
    assert task.expected_rows == pytest.approx(base.expected_rows * 0.3 / 0.6)
    per_row = task.expected_tokens / task.expected_rows
    assert per_row == pytest.approx(base.expected_tokens / base.expected_rows + 300 * (1.0 - 0.5))


def test_token_budget_violations_name_the_stage_and_worst_row(ws: Workspace) -> None:
    ws.write(PROJECT.replace("max_model_len: 8192", "max_model_len: 500"), KNOWN_PROMPTS)
    task = ws.plan().tasks[0]
    assert [(v.stage, v.model, v.prompt_tokens, v.max_tokens, v.max_model_len) for v in task.violations] == [
        (Stage.GENERATE, "generator", 112, 400, 500)  # enrich: 32 + 300 fits
    ]
    assert ws.plan().totals.violations == 1


def test_waves_batch_tasks_per_model(ws: Workspace) -> None:
    second = SPEC.replace("task: quiz", "task: quiz2").replace("data/quiz.jsonl", "data/quiz2.jsonl")
    (ws.root / "specs" / "quiz2.yaml").write_text(second)
    waves = ws.plan().waves
    assert [(w.model, [s.value for s in w.stages], w.tasks) for w in waves] == [
        ("generator", ["generate"], ["quiz", "quiz2"]),
        ("solver", ["solve"], ["quiz", "quiz2"]),
        ("generator", ["enrich"], ["quiz", "quiz2"]),
    ]
    assert waves[0].wall_hours == pytest.approx(waves[0].gpu_hours / 4)  # 2 workers × 2 GPUs


def test_waves_merge_when_stages_share_weights(ws: Workspace) -> None:
    ws.write(
        PROJECT.replace(
            "defaults:\n  verify: {kind: vote, model: solver, samples: 5}",
            "defaults:\n  verify: {kind: vote, model: generator}",
        )
    )
    waves = ws.plan().waves
    assert [(w.model, [s.value for s in w.stages]) for w in waves] == [("generator", ["generate", "solve", "enrich"])]


def test_saved_plan_is_refused_once_an_input_changes(ws: Workspace, tmp_path: Path) -> None:
    saved_path = tmp_path / "plan.json"
    save_plan(ws.plan(), saved_path)
    saved = load_plan(saved_path)
    assert stale_inputs(saved, ws.plan()) == []
    ws.write(spec=SPEC.replace("# a comment", "# only a comment changed"))
    assert stale_inputs(saved, ws.plan()) == [str(ws.root / "specs" / "quiz.yaml")]
    ws.write(spec=SPEC)
    (ws.root / "specs" / "new.yaml").write_text(SPEC.replace("task: quiz", "task: new"))
    assert stale_inputs(saved, ws.plan()) == [str(ws.root / "specs" / "new.yaml")]


def test_broken_saved_plan_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    with pytest.raises(PlanError, match="not a tsqa plan"):
        load_plan(bad)
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "missing.json")
