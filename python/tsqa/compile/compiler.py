"""Specs + project file → Plan: the stage DAG per task with fingerprints, estimates, the diff
against the last apply, the token-budget check, and engine waves. No GPU, no model call, no
dataset read in full."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsqa import __version__
from tsqa.compile.digest import input_digest
from tsqa.compile.estimate import StageCost, TaskShape, estimate_stages, packaged_tokens, used_seed_rows
from tsqa.compile.fingerprint import fingerprint, sha256_text
from tsqa.compile.identity import identity_label, model_identity
from tsqa.compile.plan import (
    BudgetViolation,
    ModelCallPlan,
    Plan,
    StageEstimate,
    StagePlan,
    StageStatus,
    TaskPlan,
    Totals,
    Wave,
)
from tsqa.compile.prompt_tokens import PromptRenders
from tsqa.compile.rates import rates_for
from tsqa.compile.seed_sample import SAMPLE_ROWS, EvalRecordsCache, SeedSample, sample_seeds
from tsqa.compile.stages import CHANGE_BY_STAGE, MODEL_STAGES, STAGE_ORDER, ChangeKind, Stage
from tsqa.compile.tokens import TokenCounter, counter_for
from tsqa.prompts import STAGE_VARIABLES, resolve_prompt_text
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import LmEvalSeed
from tsqa.spec.models.project import OpenAIModel, VllmModel
from tsqa.stages.base import FingerprintContext
from tsqa.stages.dedup import group_key, shares_corpus
from tsqa.stages.registry import REGISTRY
from tsqa.store.state import AppliedState, TaskState

Models = dict[str, VllmModel | OpenAIModel]


def compile_plan(
    project: LoadedProject,
    specs: Sequence[LoadedSpec],
    state: AppliedState,
    *,
    catalog_version: str | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> Plan:
    setup = PlanSetup.read(project, state, catalog_version=catalog_version, sample_rows=sample_rows)
    batch = TaskBatch(setup, specs)
    peers = dedup_peers([batch.prepare()])
    return assemble_plan(setup, [batch.plan(peers)])


@dataclass
class PlanSetup:
    """What every task of a plan is compiled against, read once."""

    project: LoadedProject
    state: AppliedState
    catalog_version: str | None
    sample_rows: int
    eval_data: dict[str, str]
    """Content hashes of the eval splits decontamination will search (`tsqa seeds fetch-eval`)."""

    @classmethod
    def read(
        cls, project: LoadedProject, state: AppliedState, *, catalog_version: str | None, sample_rows: int
    ) -> PlanSetup:
        return cls(project, state, catalog_version, sample_rows, _eval_store_hashes(project))


PeerEntry = tuple[Hashable, str, str]
"""(dedup group key, task, enrich fingerprint) of a task deduplicated across tasks."""


@dataclass
class PlannedTasks:
    """Some tasks' plans (in spec order) and the hashes of the files they read."""

    tasks: list[TaskPlan]
    inputs: dict[str, str]


class TaskBatch:
    """Some specs of a plan, compiled in two steps: `prepare` (seed samples, model calls, the
    fingerprints up to enrich) and, once the dedup peers of every batch are known, `plan`. The
    steps of each spec depend on that spec alone and the peers, so a plan's specs may be split
    into batches compiled apart (in parallel): the same tasks whatever the split."""

    def __init__(self, setup: PlanSetup, specs: Sequence[LoadedSpec]) -> None:
        self.setup, self.specs = setup, list(specs)
        self._samples: list[SeedSample] = []
        self._resolved: list[tuple[dict[Stage, ModelCallPlan], list[Path]]] = []
        self._prefixes: dict[str, dict[Stage, str]] = {}
        self._calls: dict[str, ModelCallPlan] = {}

    def prepare(self) -> list[PeerEntry]:
        """Seed samples (PlanError for eval rows, an unreadable sample …), model calls, and the
        peer entry of each task deduplicated across tasks."""
        setup, evals = self.setup, EvalRecordsCache()
        self._samples = [sample_seeds(loaded, setup.project, setup.sample_rows, evals) for loaded in self.specs]
        self._resolved = [_model_calls(loaded, setup.project.project.models, self._calls) for loaded in self.specs]
        entries: list[PeerEntry] = []
        for loaded, (calls, _), sample in zip(self.specs, self._resolved, self._samples, strict=True):
            if not shares_corpus(loaded.spec):
                continue
            prefix = self._prefixes[loaded.spec.task] = _fingerprints(
                loaded, calls, sample, setup.catalog_version, [], until=Stage.ENRICH
            )
            entries.append((group_key(loaded.spec), loaded.spec.task, prefix[Stage.ENRICH]))
        return entries

    def plan(self, peers: dict[str, list[str]]) -> PlannedTasks:
        """Every task's plan; `peers`: dedup_peers of the entries of every batch."""
        setup = self.setup
        inputs: dict[str, str] = {}
        tasks: list[TaskPlan] = []
        eval_data = sorted(setup.eval_data.values())
        renders = PromptRenders()
        for loaded, sample, (calls, read_prompts) in zip(self.specs, self._samples, self._resolved, strict=True):
            inputs[str(loaded.path)] = sha256_text(loaded.path.read_bytes())
            for meta in sample.meta_files:
                inputs[str(meta)] = sha256_text(meta.read_bytes())
            task, prompt_files = _plan_task(
                setup.project,
                loaded,
                calls,
                list(read_prompts),
                sample,
                setup.state.tasks.get(loaded.spec.task),
                setup.catalog_version,
                peers.get(loaded.spec.task, []),
                eval_data,
                renders,
                self._prefixes.get(loaded.spec.task),
            )
            for path in prompt_files:
                inputs[str(path)] = sha256_text(path.read_bytes())
            tasks.append(task)
        return PlannedTasks(tasks, inputs)


def dedup_peers(batches: Sequence[Sequence[PeerEntry]]) -> dict[str, list[str]]:
    """For tasks deduplicated across tasks: the enrich fingerprints of every task in their dedup
    group (the entries of every batch, in spec order). They enter the dedup fingerprint, so
    regenerating one task re-dedups its peers (no GPU)."""
    groups: dict[Hashable, list[tuple[str, str]]] = {}
    for entries in batches:
        for key, task, enrich in entries:
            groups.setdefault(key, []).append((task, enrich))
    peers: dict[str, list[str]] = {}
    for members in groups.values():
        listed = sorted(f"{t}:{fp}" for t, fp in members)  # one list per group, shared (read only)
        peers.update(dict.fromkeys((task for task, _ in members), listed))
    return peers


def assemble_plan(setup: PlanSetup, batches: Sequence[PlannedTasks]) -> Plan:
    """The plan of the batches' tasks (in batch order): inputs, waves, totals and the digest."""
    project = setup.project
    inputs: dict[str, str] = {str(project.path): sha256_text(project.path.read_bytes())}
    inputs.update(setup.eval_data)
    tasks: list[TaskPlan] = []
    for batch in batches:
        inputs.update(batch.inputs)
        tasks += batch.tasks
    waves = _waves(project, tasks)
    totals = _totals(tasks)
    digest = input_digest(inputs, {"tsqa": __version__, "catalog": setup.catalog_version})
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


def _plan_task(
    project: LoadedProject,
    loaded: LoadedSpec,
    calls: dict[Stage, ModelCallPlan],
    prompt_files: list[Path],
    sample: SeedSample,
    applied: TaskState | None,
    catalog_version: str | None,
    dedup_peers: list[str],
    eval_data: list[str],
    renders: PromptRenders,
    enrich_prefix: dict[Stage, str] | None = None,
) -> tuple[TaskPlan, list[Path]]:
    spec, models = loaded.spec, project.project.models
    notes = list(sample.notes)
    eval_files = [(loaded.path.parent / f) for f in spec.decontaminate.eval_files]
    prompt_files += [f for f in eval_files if f.is_file()]  # their content enters the input digest
    # Saved dedup indexes of earlier runs: their content decides what this run drops.
    dedup_indexes = [f for f in (loaded.path.parent / p for p in spec.dedup.index) if f.is_file()]
    prompt_files += dedup_indexes
    fingerprints = _fingerprints(
        loaded,
        calls,
        sample,
        catalog_version,
        dedup_peers + [f"index:{sha256_text(f.read_bytes())}" for f in dedup_indexes],
        eval_data + sorted(sha256_text(f.read_bytes()) for f in eval_files if f.is_file()),
        known=enrich_prefix,
    )

    costs: dict[Stage, StageCost] = {}
    violations: list[BudgetViolation] = []
    methods = set()
    rows = [(row, renders.keys(row)) for row in _prompt_rows(loaded, sample)]  # keyed once for every stage
    for stage, call in calls.items():
        model = models[call.model]
        counter = counter_for(model, project.path.parent)
        methods.add(counter.method)
        counted = _variant_tokens(call, rows, counter, renders)
        tokens, worst, over = _prompt_tokens(call, rows, counted, model.max_model_len)
        if sample.records:
            _refuse_always_failing(loaded, stage, call, rows, counted)
        costs[stage] = StageCost(
            tokens, call.max_tokens, model.throughput_tokens_per_s, getattr(model, "tensor_parallel_size", 1)
        )
        if over:
            violations.append(
                BudgetViolation(
                    stage=stage,
                    model=call.model,
                    seed_id=worst[1],
                    prompt_tokens=worst[0],
                    max_tokens=call.max_tokens,
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
        # votes per question: n per request × requests per question (multiple choice: one per option order)
        vote_samples=calls[Stage.SOLVE].samples * calls[Stage.SOLVE].requests_per_row if Stage.SOLVE in calls else 0,
        variants=calls[Stage.ENRICH].requests_per_row,
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
        stage_call = calls.get(stage)
        stages.append(
            StagePlan(
                stage=stage,
                fingerprint=fingerprints[stage],
                status=statuses[stage],
                model=stage_call.model if stage_call else None,
                needs_gpu=needs_gpu,
                estimate=est,
                call=stage_call,
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


def _model_calls(
    loaded: LoadedSpec, models: Models, shared: dict[str, ModelCallPlan] | None = None
) -> tuple[dict[Stage, ModelCallPlan], list[Path]]:
    """Each model stage of the spec resolved: template texts, the model's identity, sampling,
    chunking; and the prompt files read (their content enters the plan's input digest).
    `shared`: calls resolved before, by their JSON; an equal call is that same (frozen) object,
    so the tasks of a batch sent to another process carry each distinct call once."""
    files: list[Path] = []
    calls: dict[Stage, ModelCallPlan] = {}
    for sdef in REGISTRY:
        declared = sdef.model_call(loaded.spec)
        if declared is None:
            continue
        prompts = {}
        for variant, source in declared.prompts.items():
            base = loaded.ref(source.path).file.parent
            if hasattr(source.ref, "file"):
                files.append(base / source.ref.file)
            prompts[variant] = resolve_prompt_text(source.ref, base)
        model = models[declared.model]
        call = ModelCallPlan(
            model=declared.model,
            identity=model_identity(model),
            prompt_stage=declared.prompt_stage,
            prompts=prompts,
            sampling=declared.sampling.model_dump(mode="json"),
            samples=declared.samples,
            requests_per_row=declared.requests_per_row,
            chunk_size=getattr(model, "chunk_size", DEFAULT_CHUNK_SIZE),
        )
        calls[sdef.stage] = call if shared is None else shared.setdefault(call.model_dump_json(), call)
    return calls, files


# Requests per chunk for engines that declare none (openai): a shard and a resume point each.
DEFAULT_CHUNK_SIZE = 1024


def _fingerprints(
    loaded: LoadedSpec,
    calls: dict[Stage, ModelCallPlan],
    sample: SeedSample,
    catalog_version: str | None,
    dedup_peers: list[str],
    eval_data: list[str] | None = None,
    until: Stage | None = None,
    known: dict[Stage, str] | None = None,
) -> dict[Stage, str]:
    """Every stage's fingerprint, in DAG order; with `until`, the stages up to it only. `known`:
    fingerprints of the first stages computed already with the same inputs (a prefix of the DAG
    whose inputs read neither dedup peers nor eval data)."""
    ctx = FingerprintContext(
        snapshot=sorted(sha256_text(p.read_bytes()) for p in sample.meta_files),
        catalog_version=catalog_version,
        calls=calls,
        dedup_peers=dedup_peers,
        eval_data=eval_data or [],
    )
    out: dict[Stage, str] = dict(known or {})
    upstream: str | None = None
    for sdef in REGISTRY:
        if sdef.stage in out:
            upstream = out[sdef.stage]
            continue
        upstream = out[sdef.stage] = fingerprint(sdef.fingerprint_inputs(loaded.spec, ctx), upstream)
        if sdef.stage is until:
            break
    return out


def _prompt_rows(loaded: LoadedSpec, sample: SeedSample) -> list[dict[str, Any]]:
    """The variables prompts are rendered with, one dict per sampled row (a blank row without a
    sample): the task's own and the record's."""
    spec = loaded.spec
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
    return [{**base, **record} for record in records]


def _variant_tokens(
    call: ModelCallPlan,
    rows: list[tuple[dict[str, Any], dict[str, Hashable] | None]],
    counter: TokenCounter,
    renders: PromptRenders,
) -> dict[str, list[int | None]]:
    """Prompt tokens of each variant's template on each sampled row (None: the render failed),
    counted once for both the estimate and the always-failing check."""
    allowed = STAGE_VARIABLES[call.prompt_stage]
    return {
        variant: renders.count_rows(text, rows, {"variant": variant}, allowed, counter)
        for variant, text in call.prompts.items()
    }


def _refuse_always_failing(
    loaded: LoadedSpec,
    stage: Stage,
    call: ModelCallPlan,
    rows: list[tuple[dict[str, Any], dict[str, Hashable] | None]],
    counted: dict[str, list[int | None]],
) -> None:
    """PlanError when a prompt fails on every sampled seed record (`{{ 1/0 }}`): apply would fail
    every request, so the plan is not a plan. `counted`: _variant_tokens of the call."""
    from tsqa.compile.saved import PlanError
    from tsqa.spec.templates import compile_template

    allowed = STAGE_VARIABLES[call.prompt_stage]
    for variant, text in call.prompts.items():
        if any(r is not None for r in counted[variant]):
            continue
        row = rows[0][0]
        try:
            compile_template(text).render(**{k: v for k, v in {**row, "variant": variant}.items() if k in allowed})
            why = "it fails"
        except Exception as exc:  # noqa: BLE001 - the message is the point
            why = f"{type(exc).__name__}: {exc}"[:300]
        ref = loaded.ref((call.prompt_stage, "prompt"), prefer_key=True)
        raise PlanError(
            f"{ref.file}:{ref.pos.line}:{ref.pos.col}: error[prompt-render] {stage.value} prompt"
            f"{f' ({variant})' if len(call.prompts) > 1 else ''} fails on every one of {len(rows)} sampled seed "
            f"records (first: {row.get('seed_id', '?')}): {why}"
        )


def _prompt_tokens(
    call: ModelCallPlan,
    rows: list[tuple[dict[str, Any], dict[str, Hashable] | None]],
    counted: dict[str, list[int | None]],
    max_model_len: int,
) -> tuple[float, tuple[int, str], int]:
    """Mean prompt tokens over the sample, the worst (tokens, seed id), and rows over budget.
    `counted`: _variant_tokens of the call (a failed render is skipped: lint reports it)."""
    counts = [
        (tokens, str(row.get("seed_id", "")))
        for i, (row, _) in enumerate(rows)
        for variant in call.prompts
        if (tokens := counted[variant][i]) is not None
    ]
    if not counts:
        return 0.0, (0, ""), 0
    over = sum(1 for tokens, _ in counts if tokens + call.max_tokens > max_model_len)
    return sum(t for t, _ in counts) / len(counts), max(counts), over


def _diff(fingerprints: dict[Stage, str], applied: TaskState | None) -> tuple[ChangeKind, dict[Stage, StageStatus]]:
    if applied is None:
        return ChangeKind.NEW, dict.fromkeys(STAGE_ORDER, "new")
    statuses: dict[Stage, StageStatus] = {}
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


def _stages_needing_gpu(statuses: dict[Stage, StageStatus]) -> set[Stage]:
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
    from tsqa.engines.replicas import describe_workers  # the engine layer (~30 ms): only for waves with work

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
            identity = identity_label(model)
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
                replicas=describe_workers(model, project.project.executor.kind),
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
                    replicas=wave.replicas,
                )
            waves.append(wave)
    return waves


def _totals(tasks: list[TaskPlan]) -> Totals:
    def stage_sum(field: str) -> float:
        return float(sum(getattr(s.estimate, field) for t in tasks for s in t.stages if s.needs_gpu))

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
