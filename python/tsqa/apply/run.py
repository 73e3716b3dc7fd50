"""apply = executor + blend file + applied state + report, from a compiled Plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tsqa.apply.executor import ApplyError, Executor, Progress
from tsqa.apply.model_calls import COMMIT_EVERY
from tsqa.compile.plan import Plan, TaskPlan
from tsqa.compile.saved import applied_state
from tsqa.compile.stages import Stage
from tsqa.compile.tokens import counter_for
from tsqa.engines.registry import EngineFactory
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.stages.blend import build_blend
from tsqa.stages.registry import REGISTRY
from tsqa.store.atomic import write_json_atomic
from tsqa.store.manifest import Manifest
from tsqa.store.shards import UnreadableShard
from tsqa.store.state import TaskState, load_state, save_state


@dataclass(frozen=True)
class ApplyResult:
    run_dir: Path
    manifests: dict[str, dict[str, Manifest]]
    blend: Path
    report: Path
    failed_calls: int = 0
    """Model calls that failed after retries: their stages stay incomplete, the next apply retries them."""
    failures: tuple[str, ...] = ()
    """One line per incomplete stage: task, stage, failed calls, first error."""
    repairs: tuple[str, ...] = ()
    """What this run found damaged and rebuilt."""
    accepted_failures: int = 0
    """Failed calls recorded as engine_error rejects because failures were accepted."""

    @property
    def complete(self) -> bool:
        return self.failed_calls == 0


def apply_plan(
    project: LoadedProject,
    specs: list[LoadedSpec],
    plan: Plan,
    *,
    engine_factory: EngineFactory | None = None,
    progress: Progress | None = None,
    commit_every: int = COMMIT_EVERY,
    accept_failures: bool = False,
    verify: bool = False,
    notices: tuple[str, ...] = (),
) -> ApplyResult:
    row_mapper = None
    if project.project.executor.kind == "ray":  # the same plan, placed on the Ray cluster
        from tsqa.executors.ray.runtime import RayRuntime

        runtime = RayRuntime.connect(project.project.executor)
        engine_factory, row_mapper = runtime.engine_factory(engine_factory), runtime.map_rows
    executor = Executor(
        project,
        specs,
        plan,
        engine_factory=engine_factory,
        progress=progress,
        commit_every=commit_every,
        row_mapper=row_mapper,
        accept_failures=accept_failures,
        verify=verify,
    )
    manifests = executor.run()
    run = executor.run_dir
    repairs = (*notices, *executor.repairs)
    accepted = sum(m.failures_accepted for stages in manifests.values() for m in stages.values())
    if executor.failures:
        # Incomplete: no blend or report of a partial run; the state records only complete tasks.
        done = [t for t in plan.tasks if t.task not in executor.blocked]
        measured = {t.task: measured_rates(_loaded(specs, t.task), manifests[t.task], t) for t in done}
        save_state(run.root, applied_state(plan.model_copy(update={"tasks": done}), load_state(run.root), measured))
        failures = tuple(
            f"task {task!r} {stage}: {r.failed} of {r.requests} model calls failed after retries "
            f"(first error: {r.errors[0] if r.errors else 'unknown'})"
            for (task, stage), r in executor.failures.items()
        )
        return ApplyResult(
            run.root, manifests, run.blend, run.report, executor.failed_calls, failures, repairs, accepted
        )
    counters = {
        t.task: counter_for(project.project.models[t.stage(Stage.GENERATE).call.model], project.path.parent)  # type: ignore[union-attr]
        for t in plan.tasks
    }
    from tsqa.report import write_report

    for _ in range(len(plan.tasks) + 1):
        try:
            datasets = {s.spec.task: run.dataset(s.spec.task) for s in specs}
            blend = build_blend(plan, datasets, run.root, counters, frozenset(executor.packaged_now))
            break
        except UnreadableShard as exc:  # a packaged shard that no longer decodes: package it again
            executor.repair_unreadable(exc)
            manifests = executor.run()
    else:
        raise ApplyError("packaged datasets stay unreadable after repackaging them")
    repairs = (*notices, *executor.repairs)
    write_json_atomic(run.blend, blend)
    measured = {s.spec.task: measured_rates(s, manifests[s.spec.task], plan.task(s.spec.task)) for s in specs}
    save_state(run.root, applied_state(plan, load_state(run.root), measured))
    write_report(run.root, markdown=run.report)  # report.md (+ report/*.png) and report.html
    return ApplyResult(run.root, manifests, run.blend, run.report, repairs=repairs, accepted_failures=accepted)


def _loaded(specs: list[LoadedSpec], task: str) -> LoadedSpec:
    return next(s for s in specs if s.spec.task == task)


def measured_rates(loaded: LoadedSpec, manifests: dict[str, Manifest], plan: TaskPlan) -> TaskState:
    """The keep rates and output-length ratios this run observed, for the next plan's estimates."""
    rates: dict[str, float] = {}
    output: dict[str, float] = {}
    for sdef in REGISTRY:
        name = sdef.stage.value
        if sdef.keep_rate and name in manifests:
            keep = sdef.measured_keep(manifests, loaded.spec)
            if keep is not None:
                rates[name] = keep
        call = plan.stage(sdef.stage).call
        m = manifests.get(name)
        if call is not None and m is not None and m.requests:
            output[name] = m.completion_tokens / (m.requests * call.max_tokens * call.samples)
    return TaskState(stages={}, rates=rates, output_ratio=output)
