"""Specs + project file → Plan: the stage DAG per task with fingerprints, estimates, the diff
against the last apply, the token-budget check, and engine waves. No GPU, no model call, no
dataset read in full."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsqa import __version__
from tsqa.compile.digest import input_digest
from tsqa.compile.estimate import StageCost, TaskShape, estimate_stages, packaged_tokens, used_seed_rows
from tsqa.compile.fingerprint import fingerprint, sha256_text
from tsqa.compile.plan import BudgetViolation, Plan, StageEstimate, StagePlan, TaskPlan, Totals, Wave
from tsqa.compile.rates import rates_for
from tsqa.compile.seed_sample import SAMPLE_ROWS, SeedSample, sample_seeds
from tsqa.compile.stages import CHANGE_BY_STAGE, MODEL_STAGES, STAGE_ORDER, ChangeKind, Stage
from tsqa.compile.tokens import TokenCounter, counter_for
from tsqa.prompts import STAGE_VARIABLES, PromptStage, resolve_prompt_text
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import LmEvalSeed, VoteVerify
from tsqa.spec.models.project import OpenAIModel, VllmModel
from tsqa.spec.templates import compile_template
from tsqa.store.state import AppliedState, TaskState

PARSER_VERSION = 1  # bump when parse/validate rules change meaning: re-parses cached generations


@dataclass(frozen=True)
class _ModelStage:
    stage: Stage
    prompt_stage: PromptStage
    model_name: str
    prompts: dict[str, str]  # variant (or "") → template text
    max_tokens: int


def compile_plan(
    project: LoadedProject,
    specs: Sequence[LoadedSpec],
    state: AppliedState,
    *,
    catalog_version: str | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> Plan:
    inputs: dict[str, str] = {str(project.path): sha256_text(project.path.read_bytes())}
    tasks: list[TaskPlan] = []
    samples = [sample_seeds(loaded, project, sample_rows) for loaded in specs]
    peers = _dedup_peers(project, specs, samples, catalog_version)
    eval_data = _eval_store_hashes(project)
    inputs.update(eval_data)
    for loaded, sample in zip(specs, samples, strict=True):
        inputs[str(loaded.path)] = sha256_text(loaded.path.read_bytes())
        for meta in sample.meta_files:
            inputs[str(meta)] = sha256_text(meta.read_bytes())
        task, prompt_files = _plan_task(
            project,
            loaded,
            sample,
            state.tasks.get(loaded.spec.task),
            catalog_version,
            peers.get(loaded.spec.task, []),
            sorted(eval_data.values()),
        )
        for path in prompt_files:
            inputs[str(path)] = sha256_text(path.read_bytes())
        tasks.append(task)
    waves = _waves(project, tasks)
    totals = _totals(tasks)
    digest = input_digest(inputs, {"tsqa": __version__, "catalog": catalog_version})
    return Plan(
        tsqa_version=__version__,
        project=project.project.name,
        project_file=str(project.path),
        input_digest=digest,
        inputs=dict(sorted(inputs.items())),
        tasks=tasks,
        waves=waves,
        totals=totals,
    )


def _eval_store_hashes(project: LoadedProject) -> dict[str, str]:
    """Content hashes of the eval splits decontamination will search (`tsqa seeds fetch-eval`)."""
    from tsqa.seeds.eval_store import EvalStore

    return {str(p): sha256_text(p.read_bytes()) for p in EvalStore.for_project(project.path, project.project).splits()}


def _dedup_peers(
    project: LoadedProject,
    specs: Sequence[LoadedSpec],
    samples: list[SeedSample],
    catalog_version: str | None,
) -> dict[str, list[str]]:
    """For tasks deduplicated across tasks: the enrich fingerprints of every task in their dedup
    group. They enter the dedup fingerprint, so regenerating one task re-dedups its peers (no GPU)."""
    groups: dict[tuple[object, ...], list[tuple[str, str]]] = {}
    for loaded, sample in zip(specs, samples, strict=True):
        d = loaded.spec.dedup
        if not (d.enabled and "tasks" in d.against):
            continue
        stages, _ = _model_stages(loaded)
        enrich = _fingerprints(loaded, stages, project.project.models, sample, catalog_version, [])[Stage.ENRICH]
        key = (d.threshold, d.num_perm, d.ngram, d.shingle, "seeds" in d.against)
        groups.setdefault(key, []).append((loaded.spec.task, enrich))
    return {task: sorted(f"{t}:{fp}" for t, fp in members) for members in groups.values() for task, _ in members}


def _plan_task(
    project: LoadedProject,
    loaded: LoadedSpec,
    sample: SeedSample,
    applied: TaskState | None,
    catalog_version: str | None,
    dedup_peers: list[str],
    eval_data: list[str],
) -> tuple[TaskPlan, list[Path]]:
    spec, models = loaded.spec, project.project.models
    notes = list(sample.notes)
    model_stages, prompt_files = _model_stages(loaded)
    eval_files = [(loaded.path.parent / f) for f in spec.decontaminate.eval_files]
    prompt_files += [f for f in eval_files if f.is_file()]  # their content enters the input digest
    # Saved dedup indexes of earlier runs: their content decides what this run drops.
    dedup_indexes = [f for f in (loaded.path.parent / p for p in spec.dedup.index) if f.is_file()]
    prompt_files += dedup_indexes
    fingerprints = _fingerprints(
        loaded,
        model_stages,
        models,
        sample,
        catalog_version,
        dedup_peers + [f"index:{sha256_text(f.read_bytes())}" for f in dedup_indexes],
        eval_data + sorted(sha256_text(f.read_bytes()) for f in eval_files if f.is_file()),
    )

    costs: dict[Stage, StageCost] = {}
    violations: list[BudgetViolation] = []
    methods = set()
    for ms in model_stages.values():
        model = models[ms.model_name]
        counter = counter_for(model, project.path.parent)
        methods.add(counter.method)
        tokens, worst, over = _prompt_tokens(ms, loaded, sample, counter, model.max_model_len)
        costs[ms.stage] = StageCost(
            tokens, ms.max_tokens, model.throughput_tokens_per_s, getattr(model, "tensor_parallel_size", 1)
        )
        if over:
            violations.append(
                BudgetViolation(
                    stage=ms.stage,
                    model=ms.model_name,
                    seed_id=worst[1],
                    prompt_tokens=worst[0],
                    max_tokens=ms.max_tokens,
                    max_model_len=model.max_model_len,
                    violating_rows=over,
                    sampled_rows=max(len(sample.records), 1),
                )
            )
    if not sample.records:
        notes.append("prompt tokens counted on the templates alone (no seed sample): per-record text not included")

    rates = rates_for(applied)
    shape = TaskShape(
        seed_rows=sample.rows or 0,
        per_seed=spec.generate.per_seed,
        vote_samples=spec.verify.samples if isinstance(spec.verify, VoteVerify) else 0,
        variants=len(spec.enrich.variants),
        target_rows=spec.blend.target_rows,
        max_candidates=spec.blend.max_candidates,
    )
    estimates = estimate_stages(shape, rates, costs)
    change, statuses = _diff(fingerprints, applied)
    gpu_stages = _stages_needing_gpu(statuses)
    stages = []
    for stage in STAGE_ORDER:
        est = estimates[stage]
        needs_gpu = stage in gpu_stages and est.requests > 0
        if not needs_gpu and est.gpu_hours:
            est = est.model_copy(update={"gpu_hours": 0.0})
        ms = model_stages.get(stage)
        stages.append(
            StagePlan(
                stage=stage,
                fingerprint=fingerprints[stage],
                status=statuses[stage],
                model=ms.model_name if ms else None,
                needs_gpu=needs_gpu,
                estimate=est,
            )
        )
    expected = estimates[Stage.PACKAGE].rows_out
    group = spec.group or _catalog_group(spec)
    return TaskPlan(
        task=spec.task,
        spec_file=str(loaded.path),
        group=group,
        format=spec.format,
        seed_rows=sample.rows,
        seed_rows_source=sample.source,
        used_seed_rows=used_seed_rows(shape, rates),
        prompt_tokens_method=", ".join(sorted(methods)),
        sampled_rows=len(sample.records),
        change=change,
        stages=stages,
        expected_rows=expected,
        expected_tokens=packaged_tokens(expected, costs, rates),
        blend_weight=spec.blend.weight,
        gpu_hours=sum(s.estimate.gpu_hours for s in stages),
        violations=violations,
        notes=notes,
    ), prompt_files


def _model_stages(loaded: LoadedSpec) -> tuple[dict[Stage, _ModelStage], list[Path]]:
    spec = loaded.spec
    files: list[Path] = []

    def text(path: tuple[str | int, ...], ref: object) -> str:
        base = loaded.ref(path).file.parent
        if hasattr(ref, "file"):
            files.append(base / ref.file)  # type: ignore[attr-defined]
        return resolve_prompt_text(ref, base)

    verify = spec.verify
    solve_ref = verify.prompt if isinstance(verify, VoteVerify) else "solve"
    solve_model = verify.model if isinstance(verify, VoteVerify) else spec.generate.model
    solve_tokens = verify.sampling.max_tokens if isinstance(verify, VoteVerify) else 1024
    stages = {
        Stage.GENERATE: _ModelStage(
            Stage.GENERATE,
            "generate",
            spec.generate.model,
            {"": text(("generate", "prompt"), spec.generate.prompt)},
            spec.generate.sampling.max_tokens,
        ),
        Stage.SOLVE: _ModelStage(
            Stage.SOLVE, "solve", solve_model, {"": text(("verify", "prompt"), solve_ref)}, solve_tokens
        ),
        Stage.ENRICH: _ModelStage(
            Stage.ENRICH,
            "enrich",
            spec.enrich.model,
            {v: text(("enrich", "prompts", v), spec.enrich.prompts.get(v, v)) for v in spec.enrich.variants},
            spec.enrich.sampling.max_tokens,
        ),
    }
    return stages, files


def _model_identity(model: VllmModel | OpenAIModel) -> dict[str, Any]:
    # What determines the outputs: weights, revision, numerics. Not endpoints, concurrency or timeouts.
    identity: dict[str, Any] = {"model": model.model, "revision": model.revision}
    if isinstance(model, VllmModel):
        identity |= {"tokenizer": model.tokenizer, "dtype": model.dtype}
    return identity


def _fingerprints(
    loaded: LoadedSpec,
    model_stages: dict[Stage, _ModelStage],
    models: dict[str, VllmModel | OpenAIModel],
    sample: SeedSample,
    catalog_version: str | None,
    dedup_peers: list[str],
    eval_data: list[str] | None = None,
) -> dict[Stage, str]:
    spec = loaded.spec
    seed = spec.seed.model_dump(mode="json", exclude={"license", "columns"})
    meta = sorted(sha256_text(p.read_bytes()) for p in sample.meta_files)
    verify = spec.verify.model_dump(mode="json", exclude={"model", "prompt", "samples", "sampling"})

    def model_inputs(stage: Stage) -> dict[str, Any]:
        ms = model_stages[stage]
        return {"model": _model_identity(models[ms.model_name]), "prompts": ms.prompts}

    inputs: dict[Stage, dict[str, Any]] = {
        Stage.SEEDS: {"seed": seed, "snapshot": meta},
        Stage.NORMALISE: {
            "format": spec.format,
            "fields": spec.fields.model_dump(mode="json"),
            "rules": catalog_version if isinstance(spec.seed, LmEvalSeed) else None,
        },
        Stage.GENERATE: {
            **model_inputs(Stage.GENERATE),
            "per_seed": spec.generate.per_seed,
            "sampling": spec.generate.sampling.model_dump(mode="json"),
            "task": spec.task,
            "description": spec.description,
        },
        Stage.PARSE: {"parser": PARSER_VERSION, "format": spec.format},
        Stage.SOLVE: (
            {
                **model_inputs(Stage.SOLVE),
                "samples": spec.verify.samples,
                "sampling": spec.verify.sampling.model_dump(mode="json"),
            }
            if isinstance(spec.verify, VoteVerify)
            else {"kind": "none"}
        ),
        Stage.VERIFY: verify,
        Stage.ENRICH: {
            **model_inputs(Stage.ENRICH),
            "variants": list(spec.enrich.variants),
            "sampling": spec.enrich.sampling.model_dump(mode="json"),
        },
        Stage.DEDUP: {**spec.dedup.model_dump(mode="json"), "peers": dedup_peers},
        Stage.DECONTAMINATE: {**spec.decontaminate.model_dump(mode="json"), "eval_data": eval_data or []},
        Stage.PACKAGE: {"license": spec.seed.license, "group": spec.group},
        Stage.BLEND: {"weight": spec.blend.weight},
    }
    out: dict[Stage, str] = {}
    upstream: str | None = None
    for stage in STAGE_ORDER:
        upstream = out[stage] = fingerprint(inputs[stage], upstream)
    return out


def _prompt_tokens(
    ms: _ModelStage,
    loaded: LoadedSpec,
    sample: SeedSample,
    counter: TokenCounter,
    max_model_len: int,
) -> tuple[float, tuple[int, str], int]:
    """Mean prompt tokens over the sample, the worst (tokens, seed id), and rows over budget."""
    spec = loaded.spec
    allowed = STAGE_VARIABLES[ms.prompt_stage]
    base = {
        "task": spec.task,
        "description": spec.description,
        "format": spec.format,
        "per_seed": spec.generate.per_seed,
        "group": spec.group,
    }
    records = sample.records or [
        {"seed_id": "<template>", "question": "", "choices": [], "answer": "", "answer_text": "", "context": None}
    ]
    counts: list[tuple[int, str]] = []
    for record in records:
        for variant, text in ms.prompts.items():
            values = {**base, **record, "variant": variant}
            try:
                rendered = compile_template(text).render(**{k: v for k, v in values.items() if k in allowed})
            except Exception:  # noqa: BLE001, S112 - lint reports template errors; here the row is skipped
                continue
            counts.append((counter.count_prompt(rendered), str(record.get("seed_id", ""))))
    if not counts:
        return 0.0, (0, ""), 0
    over = sum(1 for tokens, _ in counts if tokens + ms.max_tokens > max_model_len)
    return sum(t for t, _ in counts) / len(counts), max(counts), over


def _diff(fingerprints: dict[Stage, str], applied: TaskState | None) -> tuple[ChangeKind, dict[Stage, str]]:
    if applied is None:
        return ChangeKind.NEW, dict.fromkeys(STAGE_ORDER, "new")
    statuses: dict[Stage, str] = {}
    first_changed: Stage | None = None
    for stage in STAGE_ORDER:
        if first_changed is not None:
            statuses[stage] = "stale"
        elif applied.stages.get(stage.value) == fingerprints[stage]:
            statuses[stage] = "unchanged"
        else:
            statuses[stage] = "changed"
            first_changed = stage
    change = CHANGE_BY_STAGE[first_changed] if first_changed is not None else ChangeKind.NONE
    return change, statuses


def _stages_needing_gpu(statuses: dict[Stage, str]) -> set[Stage]:
    """Model stages whose requests change: a changed model stage and every model stage after it.
    A change in a non-model stage (parse, verify) is served from the response cache, except for
    rows it newly admits; those are not counted."""
    out: set[Stage] = set()
    gpu_change = False
    for stage in STAGE_ORDER:
        status = statuses[stage]
        if status == "new" or (status == "changed" and stage in MODEL_STAGES | {Stage.SEEDS, Stage.NORMALISE}):
            gpu_change = True
        if stage in MODEL_STAGES and gpu_change:
            out.add(stage)
    return out


def _catalog_group(spec: Any) -> str | None:
    if not isinstance(spec.seed, LmEvalSeed):
        return None
    try:
        from tsqa.seeds import family_group, load_catalog

        info = load_catalog().get(spec.seed.lm_eval)
        return family_group(info.family) if info is not None else None
    except Exception:  # noqa: BLE001 - the group is informational
        return None


def _waves(project: LoadedProject, tasks: list[TaskPlan]) -> list[Wave]:
    """Batch model stages across tasks: one engine load per model, per stage kind in DAG order;
    consecutive waves on the same weights merge so the engine stays loaded."""
    models = project.project.models
    waves: list[Wave] = []
    for stage in (Stage.GENERATE, Stage.SOLVE, Stage.ENRICH):
        by_model: dict[str, list[tuple[str, StageEstimate]]] = {}
        for task in tasks:
            plan = next(s for s in task.stages if s.stage is stage)
            if plan.needs_gpu and plan.model is not None:
                by_model.setdefault(plan.model, []).append((task.task, plan.estimate))
        for name, items in by_model.items():
            model = models[name]
            identity = f"{model.model}@{model.revision or 'default'}"
            gpus = model.workers * getattr(model, "tensor_parallel_size", 1)
            gpu_hours = sum(e.gpu_hours for _, e in items)
            wave = Wave(
                model=name,
                model_id=identity,
                stages=[stage],
                tasks=[t for t, _ in items],
                requests=sum(e.requests for _, e in items),
                gpu_hours=gpu_hours,
                wall_hours=gpu_hours / gpus,
            )
            if waves and waves[-1].model_id == identity:
                last = waves.pop()
                wave = Wave(
                    model=last.model,
                    model_id=identity,
                    stages=[*last.stages, stage],
                    tasks=sorted(set(last.tasks) | set(wave.tasks)),
                    requests=last.requests + wave.requests,
                    gpu_hours=last.gpu_hours + gpu_hours,
                    wall_hours=last.wall_hours + wave.wall_hours,
                )
            waves.append(wave)
    return waves


def _totals(tasks: list[TaskPlan]) -> Totals:
    def stage_sum(field: str) -> float:
        return sum(getattr(s.estimate, field) for t in tasks for s in t.stages if s.needs_gpu)

    return Totals(
        tasks=len(tasks),
        tasks_with_work=sum(t.change is not ChangeKind.NONE for t in tasks),
        seed_rows=sum(t.seed_rows or 0 for t in tasks),
        requests=stage_sum("requests"),
        prompt_tokens=stage_sum("prompt_tokens"),
        output_tokens=stage_sum("output_tokens"),
        gpu_hours=sum(t.gpu_hours for t in tasks),
        expected_rows=sum(t.expected_rows for t in tasks),
        expected_tokens=sum(t.expected_tokens for t in tasks),
        violations=sum(len(t.violations) for t in tasks),
    )
