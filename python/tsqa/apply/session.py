"""What `tsqa apply` does before and around the executor: lint, compile (or load a saved plan,
re-hash its inputs and refuse it when stale, then execute it as saved), apply the --limit, and
turn every user-facing failure into lines of text instead of a traceback."""

from __future__ import annotations

from pathlib import Path

from tsqa.apply.executor import ApplyError, Progress
from tsqa.apply.model_calls import COMMIT_EVERY
from tsqa.apply.run import ApplyResult, apply_plan
from tsqa.compile import compile_plan
from tsqa.compile.inputs import default_spec_paths
from tsqa.compile.plan import Plan
from tsqa.compile.saved import PlanError, load_plan, stale_saved_plan
from tsqa.engines.base import EngineError
from tsqa.engines.registry import EngineFactory
from tsqa.lint import lint_paths
from tsqa.lint.report import text_line
from tsqa.seeds.errors import SeedError
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.stages.base import StageError
from tsqa.store.state import StateError, load_state


class ApplyFailed(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def run_apply(
    paths: list[Path],
    *,
    project_file: Path | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    engine_factory: EngineFactory | None = None,
    commit_every: int = COMMIT_EVERY,
) -> ApplyResult:
    saved = None
    if len(paths) == 1 and paths[0].suffix == ".json":
        try:
            saved = load_plan(paths[0])
        except PlanError as exc:
            raise ApplyFailed([f"error: {exc}"]) from None
        if limit is not None:
            raise ApplyFailed(
                [
                    (
                        "error: --limit changes what a saved plan does; apply the spec folder with --limit "
                        "instead, or the saved plan without it"
                    )
                ]
            )
        project_file = Path(saved.project_file)
        paths = [Path(t.spec_file) for t in saved.tasks]
    checked = lint_paths(paths or default_spec_paths(project_file), project_file=project_file)
    if checked.errors or checked.project is None:
        raise ApplyFailed([text_line(d) for d in checked.diagnostics] + ["apply stopped: fix the errors above"])
    project, specs = checked.project, [_limited(s, limit) for s in checked.specs]
    try:
        from tsqa.seeds.catalog import load_catalog

        catalog_version = load_catalog().lm_eval_version
        if saved is not None:
            _refuse_if_stale(saved, project, catalog_version)
            plan = saved
        else:
            state = load_state(project.path.parent / project.project.output.dir)
            plan = compile_plan(project, specs, state, catalog_version=catalog_version)
        return apply_plan(
            project, specs, plan, engine_factory=engine_factory, progress=progress, commit_every=commit_every
        )
    except (ApplyError, EngineError, SeedError, StageError, StateError) as exc:
        raise ApplyFailed([f"error: {exc}", "work already finished is kept; run apply again to resume"]) from None


def _refuse_if_stale(saved: Plan, project: LoadedProject, catalog_version: str | None) -> None:
    """Terraform's rule: a saved plan runs only on exactly the inputs it was computed from."""
    from tsqa.seeds.eval_store import EvalStore

    eval_splits = EvalStore.for_project(project.path, project.project).splits()
    changed = stale_saved_plan(saved, eval_splits, catalog_version)
    if changed:
        raise ApplyFailed(
            [
                "error: the saved plan is stale; these inputs changed since it was written:",
                *[f"  {c}" for c in changed],
                "run `tsqa plan -o PLAN` again",
            ]
        )


def _limited(loaded: LoadedSpec, limit: int | None) -> LoadedSpec:
    if limit is None:
        return loaded
    seed = loaded.spec.seed
    capped = seed.model_copy(update={"limit": min(limit, seed.limit or limit)})
    return LoadedSpec(
        loaded.doc, loaded.spec.model_copy(update={"seed": capped}), loaded.from_defaults, loaded.project_doc
    )
