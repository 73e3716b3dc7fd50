"""apply = executor + blend file + applied state + report, from a compiled Plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tsqa.apply.blend import build_blend
from tsqa.apply.executor import Executor, Progress
from tsqa.apply.model_calls import COMMIT_EVERY
from tsqa.compile.plan import Plan
from tsqa.compile.saved import applied_state
from tsqa.compile.stages import Stage
from tsqa.compile.tokens import counter_for
from tsqa.engines.registry import EngineFactory
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import VoteVerify
from tsqa.store.atomic import write_json_atomic
from tsqa.store.manifest import Manifest
from tsqa.store.state import TaskState, load_state, save_state


@dataclass(frozen=True)
class ApplyResult:
    run_dir: Path
    manifests: dict[str, dict[str, Manifest]]
    blend: Path
    report: Path


def apply_plan(
    project: LoadedProject,
    specs: list[LoadedSpec],
    plan: Plan,
    *,
    engine_factory: EngineFactory | None = None,
    progress: Progress | None = None,
    commit_every: int = COMMIT_EVERY,
) -> ApplyResult:
    executor = Executor(
        project, specs, plan, engine_factory=engine_factory, progress=progress, commit_every=commit_every
    )
    manifests = executor.run()
    run = executor.run_dir
    counters = {
        s.spec.task: counter_for(project.project.models[s.spec.generate.model], project.path.parent) for s in specs
    }
    write_json_atomic(
        run.blend, build_blend(plan, {s.spec.task: run.dataset(s.spec.task) for s in specs}, run.root, counters)
    )
    measured = {s.spec.task: measured_rates(s, manifests[s.spec.task], project) for s in specs}
    save_state(run.root, applied_state(plan, load_state(run.root), measured))
    from tsqa.apply.report import write_report

    write_report(run.report, plan, manifests)
    return ApplyResult(run.root, manifests, run.blend, run.report)


def measured_rates(loaded: LoadedSpec, manifests: dict[str, Manifest], project: LoadedProject) -> TaskState:
    """The keep rates and output-length ratios this run observed, for the next plan's estimates."""
    spec = loaded.spec

    def ratio(out: float, into: float) -> float | None:
        return out / into if into else None

    m = manifests
    rates = {
        Stage.PARSE.value: ratio(m["parse"].rows_out, m["generate"].rows_out * spec.generate.per_seed),
        Stage.VERIFY.value: ratio(m["verify"].rows_out, m["verify"].rows_in),
        Stage.DEDUP.value: ratio(m["dedup"].rows_out, m["dedup"].rows_in),
        Stage.DECONTAMINATE.value: ratio(m["decontaminate"].rows_out, m["decontaminate"].rows_in),
    }
    n_solve = spec.verify.samples if isinstance(spec.verify, VoteVerify) else 0
    caps = {
        "generate": (spec.generate.sampling.max_tokens, 1),
        "enrich": (spec.enrich.sampling.max_tokens, 1),
        "solve": (spec.verify.sampling.max_tokens if isinstance(spec.verify, VoteVerify) else 0, n_solve),
    }
    output = {
        stage: ratio(m[stage].completion_tokens, m[stage].requests * cap * n)
        for stage, (cap, n) in caps.items()
        if stage in m and cap and n
    }
    return TaskState(
        stages={},
        rates={k: v for k, v in rates.items() if v is not None},
        output_ratio={k: v for k, v in output.items() if v is not None},
    )
