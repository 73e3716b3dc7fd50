"""`tsqa plan` end to end: lint the specs, then compile the plan, with the specs split into
contiguous chunks checked and compiled in parallel processes (tsqa.forked) when there are many.

Every check runs on every spec whatever the split: the lint rules of scope "spec" on each chunk,
those of scope "set" (duplicate tasks, all weights zero) over every spec's facts, the seed
guards, eval-row checks, samples, renders and the token budget in each chunk. Chunks are merged
in spec order, so the plan (and its JSON) and the diagnostics are those of one process; a plan
error is the one the first failing spec gives in one process (per step: samples, then tasks).

The steps, in lock step across chunks:
1. each chunk loads its specs and runs the per-spec rules → the parent merges the findings and
   runs the set rules; lint errors stop every chunk;
2. the parent reads the run's state and the eval store's hashes and sends them; each chunk
   samples its seeds, resolves its model calls and fingerprints up to enrich → the
   parent groups the dedup peers of all chunks;
3. each chunk plans its tasks → the parent assembles the plan (waves, totals, digest).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tsqa.compile.compiler import PeerEntry, PlannedTasks, PlanSetup, TaskBatch, assemble_plan, dedup_peers
from tsqa.compile.plan import Plan
from tsqa.compile.saved import PlanError
from tsqa.compile.seed_sample import SAMPLE_ROWS
from tsqa.forked import LockStep, Steps, usable_cpus
from tsqa.lint.runner import ChunkLint, LintResult, LintSetup, lint_chunk, lint_finish, lint_setup
from tsqa.spec.load import LoadedProject

SPECS_PER_PROCESS = 48
"""Fewest specs worth another process (by default): below it, forking and merging cost more
than the process saves (a plan of a few specs stays in one process)."""


@dataclass
class Planned:
    checked: LintResult
    """The lint findings (`specs` left empty: they stay in the processes that loaded them)."""
    plan: Plan | None
    """None when lint found errors."""


def chunk_bounds(specs: int, count: int) -> list[int]:
    """Where `count` contiguous chunks of `specs` specs start and end, of equal size. This
    process also merges the children's results, but in lock step the children wait while it
    merges, so equal chunks finish each step together (with a 10% smaller chunk here, a 700-spec
    plan's child ran ~10% longer on every step than this process)."""
    return [round(specs * i / count) for i in range(count + 1)]


def plan_jobs(jobs: int | None, specs: int) -> int:
    """Processes for `specs` specs: `jobs` when given (at most one per spec), else one per usable
    CPU with at least SPECS_PER_PROCESS specs each."""
    if jobs is not None:
        return max(1, min(jobs, specs))
    return max(1, min(usable_cpus(), specs // SPECS_PER_PROCESS))


def plan_paths(
    paths: Sequence[Path],
    *,
    project_file: Path | None = None,
    sample_rows: int = SAMPLE_ROWS,
    jobs: int | None = None,
) -> Planned:
    """Lint `paths`, then (when clean) compile their plan. Raises PlanError (a spec's seeds or
    prompts refuse the plan), StateError or CatalogError (the run's state or the catalogue
    cannot be read), WorkerFailed (a parallel process failed)."""
    setup = lint_setup(paths, project_file=project_file)
    files = setup.spec_files
    count = plan_jobs(jobs, len(files))
    bounds = chunk_bounds(len(files), count)
    chunks = [partial(_chunk, setup, files[a:b]) for a, b in itertools.pairwise(bounds)]
    if len(chunks) > 1:
        _warm(setup)
    with LockStep(chunks, "plan worker") as steps:
        linted: list[ChunkLint] = steps.send(None)
        checked = lint_finish(setup, linted)
        if checked.errors or checked.project is None:
            return Planned(checked, None)
        # Read once lint passed (as in one process), sent to every chunk with the go-ahead.
        plan_setup = _plan_setup(checked.project, sample_rows)
        peers = dedup_peers(_unless_refused(steps.send(plan_setup)))
        planned: list[PlannedTasks] = _unless_refused(steps.send(peers))
        return Planned(checked, assemble_plan(plan_setup, planned))


def _plan_setup(project: LoadedProject, sample_rows: int) -> PlanSetup:
    """The run's state, the catalogue version and the eval store's hashes (StateError or
    CatalogError when they cannot be read)."""
    from tsqa.seeds.catalog import load_catalog
    from tsqa.store.state import load_state

    state = load_state(project.path.parent / project.project.output.dir)
    catalog_version = load_catalog().lm_eval_version
    return PlanSetup.read(project, state, catalog_version=catalog_version, sample_rows=sample_rows)


def _chunk(setup: LintSetup, files: Sequence[Path]) -> Steps:
    """One chunk's steps; each yields what the parent merges (a PlanError instead, to stop)."""
    checked = lint_chunk(setup, files)
    specs, checked.specs = checked.specs, []  # the parent needs the findings, not the specs
    plan_setup: PlanSetup = yield checked
    batch = TaskBatch(plan_setup, specs)
    try:
        entries: list[PeerEntry] | PlanError = batch.prepare()
    except PlanError as exc:
        entries = exc
    peers = yield entries
    if isinstance(entries, PlanError):
        return
    try:
        planned: PlannedTasks | PlanError = batch.plan(peers)
    except PlanError as exc:
        planned = exc
    yield planned


def _unless_refused(values: list[object]) -> list:  # type: ignore[type-arg]
    """The chunks' values, or the first chunk's PlanError (the first failing spec's)."""
    for value in values:
        if isinstance(value, PlanError):
            raise value
    return values


def _warm(setup: LintSetup) -> None:
    """Before forking, do once here what every chunk would do on its first spec (imports, the
    eval-name words, compiling the first spec's templates and prompts: ~0.3 s a process). Only
    pure work, cached by its inputs: a chunk's results are the same with or without it."""
    import importlib

    from tsqa.compile.prompt_tokens import PromptRenders
    from tsqa.prompts import BUILTIN_PROMPTS, STAGE_VARIABLES, builtin_prompt_text
    from tsqa.seeds.names import eval_words
    from tsqa.spec.load import load_spec
    from tsqa.spec.models.prompts import PromptInline
    from tsqa.spec.templates import TemplateError, compile_template
    from tsqa.stages.registry import REGISTRY

    for module in ("tsqa.compile.seed_sample", "tsqa.seeds.load", "tsqa.seeds.normalise", "tsqa.seeds.store"):
        importlib.import_module(module)  # imported on first use by every chunk
    eval_words()
    if setup.project is None or not setup.spec_files:
        return
    loaded, _ = load_spec(setup.spec_files[0], setup.project)
    if loaded is None:
        return
    fields = loaded.spec.fields.model_dump(exclude_none=True).values()  # as lint's spec_templates
    texts = [(text, frozenset[str]()) for text in fields if isinstance(text, str)]
    for sdef in REGISTRY:
        declared = sdef.model_call(loaded.spec)
        if declared is None:
            continue
        for source in declared.prompts.values():
            ref = source.ref  # a built-in or inline text; a prompt file is read by its chunk, after lint
            text = builtin_prompt_text(ref) if isinstance(ref, str) and ref in BUILTIN_PROMPTS else None
            text = ref.inline if isinstance(ref, PromptInline) else text
            if text is not None:
                texts.append((text, STAGE_VARIABLES[declared.prompt_stage]))
    for text, allowed in texts:
        try:
            compile_template(text)
            PromptRenders.variables(text, allowed)
        except TemplateError:
            continue  # lint reports it, in its chunk
