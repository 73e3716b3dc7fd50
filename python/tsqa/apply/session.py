"""What `tsqa apply` does before and around the executor: lint, compile (or load a saved plan,
re-hash its inputs and refuse it when stale, then execute it as saved), apply the --limit, and
turn every user-facing failure into lines of text instead of a traceback.

Before any model call: the run directory, cache and seed store are checked (writable, readable,
free space), the run lock is taken (a second apply on the same run directory is refused, naming
the holder) and a damaged state file is moved aside."""

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
from tsqa.stages.requests import PromptRenderError
from tsqa.store.lock import LockError, RunLock
from tsqa.store.remote import RunStore, StoreError
from tsqa.store.response_cache import CacheError
from tsqa.store.state import StateError, load_state, repair_state
from tsqa.store.writable import Need, NotWritable, check


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
    accept_failures: bool = False,
    verify: bool = False,
) -> ApplyResult:
    """`accept_failures` (or the project's `accept_failures: true`): model calls that still fail
    after retries become engine_error rejects instead of leaving their stage incomplete.
    `verify`: check every finished shard's sha256 (and the whole cache database), not only its
    footer and row count."""
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
    run_dir = project.path.parent / project.project.output.dir
    _check_places(project, run_dir)
    try:
        lock = RunLock(run_dir).acquire()
    except LockError as exc:
        raise ApplyFailed([f"error: {exc}"]) from None
    store = _open_store(project.project.output.store, lock, run_dir)
    try:
        from tsqa.seeds.catalog import load_catalog

        if store is not None:
            store.pull(run_dir)  # finished work published by an apply elsewhere
        repaired = repair_state(run_dir)
        catalog_version = load_catalog().lm_eval_version
        if saved is not None:
            _refuse_if_stale(saved, project, catalog_version)
            plan = saved
        else:
            state = load_state(run_dir)
            plan = compile_plan(project, specs, state, catalog_version=catalog_version)
        return apply_plan(
            project,
            specs,
            plan,
            engine_factory=engine_factory,
            progress=progress,
            commit_every=commit_every,
            accept_failures=accept_failures or project.project.accept_failures,
            verify=verify,
            notices=(repaired,) if repaired else (),
        )
    except PlanError as exc:  # seed rows that are eval rows, a replaced snapshot: nothing ran
        raise ApplyFailed([str(exc)]) from None
    except PromptRenderError as exc:  # the same record fails the same way on every run
        raise ApplyFailed(
            [f"error: {exc}", "work already finished is kept; fix the prompt template or that seed record"]
        ) from None
    except (ApplyError, CacheError, EngineError, SeedError, StageError, StateError) as exc:
        raise ApplyFailed([f"error: {exc}", "work already finished is kept; run apply again to resume"]) from None
    except OSError as exc:  # e.g. the disk filled up or went read-only mid-run
        where = f": {exc.filename}" if exc.filename else ""
        raise ApplyFailed(
            [f"error: {exc.strerror or exc}{where}", "work already finished is kept; run apply again to resume"]
        ) from None
    finally:
        try:
            _push(store, run_dir)  # also after a failure: what finished is kept there too
        finally:
            lock.release()


def _push(store: RunStore | None, run_dir: Path) -> None:
    if store is None:
        return
    try:
        store.push(run_dir)
    except OSError as exc:
        raise ApplyFailed(
            [f"error: could not write to output.store {store.uri!r}: {exc}", "run apply again to publish"]
        ) from None


def _open_store(uri: str | None, lock: RunLock, run_dir: Path) -> RunStore | None:
    if uri is None:
        return None
    try:
        store = RunStore.open(uri)
        store.refuse_overlap(run_dir)
        return store
    except StoreError as exc:
        lock.release()
        raise ApplyFailed([f"error: {exc}"]) from None


def _check_places(project: LoadedProject, run_dir: Path) -> None:
    """Everything apply writes must be writable (and the seed store readable) before any work."""
    from tsqa.apply.run_dir import RunDir

    cache = RunDir(run_dir).cache
    needs = [
        Need(run_dir, "run directory"),
        Need(cache.parent, "response cache", files=(cache.name,)),
        Need(project.path.parent / project.project.seed_store, "seed store", write=False),
    ]
    try:
        check(needs)
    except NotWritable as exc:
        raise ApplyFailed(
            [*(f"error: {p}" for p in exc.problems), "apply stopped before any model call: fix the above"]
        ) from None


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
