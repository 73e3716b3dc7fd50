"""Run a Plan: every task through every stage, stage by stage, so that each model's work for all
tasks runs on one engine kept alive (the plan's waves).

Resumable at any point: a stage is complete when its manifest exists (folders are keyed by the
stage fingerprint); model stages write one shard per chunk of requests, skip chunks already
written, and get finished calls back from the response cache. Nothing already produced is lost
and nothing is written twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.apply.model_calls import COMMIT_EVERY, CallStats, call_model
from tsqa.apply.requests import enrich_requests, generate_requests, solve_requests
from tsqa.apply.run_dir import RunDir
from tsqa.apply.tables import rejects_table, to_table
from tsqa.compile.plan import Plan, TaskPlan
from tsqa.compile.stages import Stage
from tsqa.engines.base import Request, Result
from tsqa.engines.registry import EngineFactory, EnginePool, create_engine
from tsqa.prompts import resolve_prompt_text
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import VoteVerify
from tsqa.spec.models.project import OpenAIModel, VllmModel
from tsqa.stages.enrich import check_enrichments
from tsqa.stages.parse import Candidate, parse_candidates
from tsqa.stages.verify import verify_by_vote
from tsqa.store.manifest import Manifest, ShardInfo, read_manifest, write_manifest
from tsqa.store.response_cache import ResponseCache
from tsqa.store.shards import existing_shards, file_sha256, read_shards, remove_stray_temporaries, write_shard

Progress = Callable[[str, int, int], Callable[[int], None]]
"""progress(label, total, already_done) → advance(n)."""


class ApplyError(Exception):
    """A run that cannot go on (no seeds, engine down); the message says what to do."""


@dataclass
class _Task:
    loaded: LoadedSpec
    plan: TaskPlan
    fingerprints: dict[Stage, str]
    prompts: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.loaded.spec.task


@dataclass
class StageOutcome:
    rows: list[dict[str, Any]]
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rows_in: int = 0
    stats: CallStats | None = None


class Executor:
    def __init__(
        self,
        project: LoadedProject,
        specs: list[LoadedSpec],
        plan: Plan,
        *,
        engine_factory: EngineFactory | None = None,
        progress: Progress | None = None,
        commit_every: int = COMMIT_EVERY,
    ) -> None:
        self.project = project
        self.commit_every = commit_every
        self.plan = plan
        self.run_dir = RunDir(project.path.parent / project.project.output.dir)
        self.models = {
            name: _resolve_local_model(cfg, project.path.parent) for name, cfg in project.project.models.items()
        }
        self.pool = EnginePool(self.models, engine_factory or create_engine)
        self.progress = progress
        by_name = {t.task: t for t in plan.tasks}
        self.tasks = [self._task(loaded, by_name[loaded.spec.task]) for loaded in specs]

    # -- driving ---------------------------------------------------------------------------------
    def run(self) -> dict[str, dict[str, Manifest]]:
        cache = ResponseCache(self.run_dir.cache)
        try:
            for stage in Stage:
                if stage is Stage.DEDUP:
                    self._dedup_all()
                elif stage is Stage.BLEND:
                    continue  # written by the caller from the package manifests
                else:
                    for task in self.tasks:
                        self._run_stage(task, stage, cache)
        finally:
            self.pool.close()
            cache.close()
        return {t.name: {s.value: m for s in Stage if (m := self.manifest(t, s)) is not None} for t in self.tasks}

    def manifest(self, task: _Task, stage: Stage) -> Manifest | None:
        return read_manifest(self.run_dir.stage(task.name, stage.value, task.fingerprints[stage]))

    def rows(self, task: _Task, stage: Stage) -> list[dict[str, Any]]:
        table = read_shards(self.run_dir.data(task.name, stage.value, task.fingerprints[stage]))
        return [] if table is None else table.to_pylist()

    def _run_stage(self, task: _Task, stage: Stage, cache: ResponseCache) -> None:
        if self.manifest(task, stage) is not None:
            return
        folder = self.run_dir.stage(task.name, stage.value, task.fingerprints[stage])
        remove_stray_temporaries(folder / "data")
        remove_stray_temporaries(folder / "rejects")
        runner = getattr(self, f"_stage_{stage.value}")
        outcome: StageOutcome | None = runner(task, cache)
        if outcome is not None:  # model stages write their shards and manifest chunk by chunk
            self._finish(task, stage, outcome)

    def _finish(self, task: _Task, stage: Stage, outcome: StageOutcome, *, chunked: bool = False) -> None:
        folder = self.run_dir.stage(task.name, stage.value, task.fingerprints[stage])
        data, rejects = folder / "data", folder / "rejects"
        if not chunked:
            schema_stage = stage.value if stage.value in _TABLE_STAGES else None
            table = to_table(schema_stage, outcome.rows) if schema_stage else pa.Table.from_pylist(outcome.rows)
            write_shard(data, 0, table)
            if outcome.rejects:
                write_shard(rejects, 0, rejects_table(outcome.rejects))
        shards = [
            ShardInfo(file=str(p.relative_to(self.run_dir.root)), rows=_rows(p), sha256=file_sha256(p))
            for _, p in sorted(existing_shards(data).items())
        ]
        reject_rows = read_shards(rejects)
        reasons = Counter(reject_rows.column("reason").to_pylist()) if reject_rows is not None else Counter()
        stats = outcome.stats or CallStats()
        model = self._stage_model(task, stage)
        write_manifest(
            folder,
            Manifest(
                task=task.name,
                stage=stage.value,
                fingerprint=task.fingerprints[stage],
                plan_digest=self.plan.input_digest,
                rows_in=outcome.rows_in,
                rows_out=sum(s.rows for s in shards),
                shards=shards,
                rejections=dict(reasons),
                requests=stats.requests,
                cache_hits=stats.cache_hits,
                prompt_tokens=stats.prompt_tokens,
                completion_tokens=stats.completion_tokens,
                model=model.model if model else None,
                model_revision=model.revision if model else None,
                sampling=self._stage_sampling(task, stage),
                completed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )

    # -- stages ----------------------------------------------------------------------------------
    def _stage_seeds(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        table = read_seed_table(task.loaded, self.project)
        rows = table.to_pylist()
        return StageOutcome(rows=rows, rows_in=len(rows))

    def _stage_normalise(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        from tsqa.seeds.catalog import load_catalog
        from tsqa.seeds.normalise import normalise

        spec = task.loaded.spec
        docs = self.rows(task, Stage.SEEDS)
        info = load_catalog().get(spec.seed.lm_eval) if hasattr(spec.seed, "lm_eval") else None
        result = normalise(spec, info, docs)
        rows = [
            {
                "seed_id": r.seed_id,
                "question": r.question,
                "options": list(r.options) if r.options else None,
                "answer_text": r.answer_text,
                "answer_index": r.answer_index,
                "answer_aliases": list(r.answer_aliases) if r.answer_aliases else None,
                "context": r.context,
                "raw": r.raw,
            }
            for r in result.records
        ]
        rejects = [{"id": f.seed_id, "reason": "unnormalisable", "detail": f.reason[:300]} for f in result.failures]
        return StageOutcome(rows=rows, rejects=rejects, rows_in=len(docs))

    def _stage_generate(self, task: _Task, cache: ResponseCache) -> StageOutcome | None:
        spec = task.loaded.spec
        seeds = self.rows(task, Stage.NORMALISE)
        with_context = any(r.get("context") for r in seeds)
        requests = generate_requests(spec, task.prompts["generate"], seeds, with_context=with_context)
        by_id = {f"{spec.task}/generate/{r['seed_id']}": r for r in seeds}

        def to_rows(results: dict[str, Result], chunk: list[Request]) -> list[dict[str, Any]]:
            out = []
            for req in chunk:
                res, seed = results[req.id], by_id[req.id]
                out.append(
                    {
                        "candidate_id": seed["seed_id"],
                        "seed_id": seed["seed_id"],
                        "seed_question": seed["question"],
                        "n_options": len(seed["options"]) if seed.get("options") else None,
                        "text": res.texts[0] if res.ok and res.texts else None,
                        "finish_reason": res.finish_reasons[0] if res.finish_reasons else None,
                        "error": res.error,
                        "prompt_tokens": res.prompt_tokens,
                        "completion_tokens": res.completion_tokens,
                    }
                )
            return out

        return self._model_stage(task, Stage.GENERATE, spec.generate.model, requests, to_rows, cache)

    def _stage_parse(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        spec = task.loaded.spec
        rows = self.rows(task, Stage.GENERATE)
        with_context = any(r.get("context") for r in self.rows(task, Stage.NORMALISE))
        candidates = [
            Candidate(
                r["candidate_id"],
                r["seed_id"],
                r["seed_question"],
                r["n_options"],
                r["text"],
                r["finish_reason"],
                r["error"],
            )
            for r in rows
        ]
        result = parse_candidates(spec.format, candidates, with_context=with_context)
        rejects = [{"id": r["candidate_id"], "reason": r["reason"], "detail": r["detail"]} for r in result.rejects]
        return StageOutcome(rows=result.questions, rejects=rejects, rows_in=len(result.questions) + len(rejects))

    def _stage_solve(self, task: _Task, cache: ResponseCache) -> StageOutcome | None:
        spec = task.loaded.spec
        questions = self.rows(task, Stage.PARSE)
        verify = spec.verify
        if not isinstance(verify, VoteVerify):
            return StageOutcome(rows=[{**q, "samples": [], "error": None} for q in questions], rows_in=len(questions))
        requests = solve_requests(spec, task.prompts["solve"], verify.sampling, verify.samples, questions)
        by_id = {f"{spec.task}/solve/{q['question_id']}": q for q in questions}

        def to_rows(results: dict[str, Result], chunk: list[Request]) -> list[dict[str, Any]]:
            return [
                {**by_id[req.id], "samples": list(results[req.id].texts), "error": results[req.id].error}
                for req in chunk
            ]

        return self._model_stage(task, Stage.SOLVE, verify.model, requests, to_rows, cache)

    def _stage_verify(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        spec = task.loaded.spec
        rows = self.rows(task, Stage.SOLVE)
        if not isinstance(spec.verify, VoteVerify):
            kept = [{**r, "winner": None, "votes": 0, "total": 0, "agreement": None} for r in rows]
            return StageOutcome(rows=kept, rows_in=len(rows))
        failed = [r for r in rows if r.get("error")]
        voting = [r for r in rows if not r.get("error")]
        verdicts = verify_by_vote(voting, [r["samples"] for r in voting], spec.format, spec.verify).table.to_pylist()
        kept, rejects = (
            [],
            [{"id": r["question_id"], "reason": "engine_error", "detail": (r["error"] or "")[:300]} for r in failed],
        )
        for row, verdict in zip(voting, verdicts, strict=True):
            if verdict["kept"]:
                kept.append(
                    {
                        **row,
                        "winner": verdict["winner"],
                        "votes": verdict["votes"],
                        "total": verdict["total"],
                        "agreement": verdict["agreement"],
                    }
                )
            else:
                rejects.append(
                    {
                        "id": row["question_id"],
                        "reason": verdict["reason"],
                        "detail": f"winner {verdict['winner']!r}, {verdict['votes']}/{verdict['total']} votes",
                    }
                )
        return StageOutcome(rows=kept, rejects=rejects, rows_in=len(rows))

    def _stage_enrich(self, task: _Task, cache: ResponseCache) -> StageOutcome | None:
        spec = task.loaded.spec
        questions = self.rows(task, Stage.VERIFY)
        requests = enrich_requests(spec, {v: task.prompts[f"enrich:{v}"] for v in spec.enrich.variants}, questions)
        by_id = {f"{spec.task}/enrich/{q['question_id']}/{v}": (q, v) for q in questions for v in spec.enrich.variants}

        def to_rows(results: dict[str, Result], chunk: list[Request]) -> list[dict[str, Any]]:
            rows = []
            for req in chunk:
                question, variant = by_id[req.id]
                res = results[req.id]
                rows.append(
                    {
                        **question,
                        "variant": variant,
                        "enrichment": res.texts[0] if res.ok and res.texts else None,
                        "_text": res.texts[0] if res.ok and res.texts else "",
                        "_error": res.error,
                        "_finish": res.finish_reasons[0] if res.finish_reasons else None,
                        "_id": req.id,
                    }
                )
            reasons = check_enrichments(
                spec.format,
                [
                    {
                        "text": r["_text"],
                        "error": r["_error"],
                        "finish_reason": r["_finish"],
                        "options": r["options"],
                        "answer_index": r["answer_index"],
                        "answer_text": r["answer_text"],
                    }
                    for r in rows
                ],
            )
            for row, reason in zip(rows, reasons, strict=True):
                row["_reason"] = reason
            return rows

        return self._model_stage(
            task,
            Stage.ENRICH,
            spec.enrich.model,
            requests,
            to_rows,
            cache,
            keep=lambda r: r["_reason"] == "kept",
            reject=lambda r: {"id": r["_id"], "reason": r["_reason"], "detail": (r["_error"] or r["_text"])[:300]},
        )

    def _dedup_all(self) -> None:
        from tsqa.apply.dedup import DedupIndexError, dedup_tasks

        pending = [t for t in self.tasks if self.manifest(t, Stage.DEDUP) is None]
        if not pending:
            return
        # Dedup reads every task (across-task duplicates), but writes only the pending ones.
        index_files = {t.name: [t.loaded.path.parent / p for p in t.loaded.spec.dedup.index] for t in self.tasks}
        try:
            outcomes = dedup_tasks(
                {
                    t.name: (t.loaded.spec, self.rows(t, Stage.ENRICH), self.rows(t, Stage.NORMALISE))
                    for t in self.tasks
                },
                index_files,
                save_dir=self.run_dir.root / "dedup-index",
            )
        except DedupIndexError as exc:
            raise ApplyError(str(exc)) from None
        for task in pending:
            rows, rejects = outcomes[task.name]
            self._finish(task, Stage.DEDUP, StageOutcome(rows=rows, rejects=rejects, rows_in=len(rows) + len(rejects)))

    def _stage_decontaminate(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        from tsqa.apply.decontaminate import EvalFileError, decontaminate, eval_sources
        from tsqa.seeds.eval_store import EvalStore

        rows = self.rows(task, Stage.DEDUP)
        try:
            sources = eval_sources(task.loaded, EvalStore.for_project(self.project.path, self.project.project).splits())
        except EvalFileError as exc:
            raise ApplyError(str(exc)) from None
        kept, rejects = decontaminate(task.loaded, rows, sources)
        return StageOutcome(rows=kept, rejects=rejects, rows_in=len(rows))

    def _stage_package(self, task: _Task, cache: ResponseCache) -> StageOutcome:
        from tsqa.apply.package import package_rows

        rows = self.rows(task, Stage.DECONTAMINATE)
        packaged = package_rows(task.loaded.spec, task.plan, self.models, rows)
        out = self.run_dir.dataset(task.name)
        for stale in existing_shards(out).values():
            stale.unlink()
        write_shard(out, 0, to_table("package", packaged))
        return StageOutcome(rows=packaged, rows_in=len(rows))

    # -- model stages ----------------------------------------------------------------------------
    def _model_stage(
        self,
        task: _Task,
        stage: Stage,
        model_name: str,
        requests: list[Request],
        to_rows: Callable[[dict[str, Result], list[Request]], list[dict[str, Any]]],
        cache: ResponseCache,
        *,
        keep: Callable[[dict[str, Any]], bool] | None = None,
        reject: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        config = self.models[model_name]
        folder = self.run_dir.stage(task.name, stage.value, task.fingerprints[stage])
        done = existing_shards(folder / "data")
        size = getattr(config, "chunk_size", 1024)
        chunks = [requests[i : i + size] for i in range(0, len(requests), size)]
        advance = (
            self.progress(
                f"{task.name} {stage.value}", len(requests), sum(len(c) for i, c in enumerate(chunks) if i in done)
            )
            if self.progress
            else None
        )
        stats = CallStats()
        identity = _identity(self.project.project.models[model_name])  # as declared: moving the project keeps the cache
        for index, chunk in enumerate(chunks):
            if index in done:
                continue
            results, chunk_stats = call_model(
                lambda: self.pool.get(model_name),
                cache,
                identity,
                chunk,
                progress=advance,
                commit_every=self.commit_every,
            )
            stats.add(chunk_stats)
            _stop_if_failing(model_name, chunk, results)
            rows = to_rows(results, chunk)
            kept = [r for r in rows if keep is None or keep(r)]
            if reject is not None:
                # Rejects first: the data shard is the chunk's completion marker.
                write_shard(folder / "rejects", index, rejects_table([reject(r) for r in rows if not keep(r)]))  # type: ignore[misc]
            write_shard(folder / "data", index, to_table(stage.value, kept))
        if not chunks:
            write_shard(folder / "data", 0, to_table(stage.value, []))
        self._finish(task, stage, StageOutcome(rows=[], rows_in=len(requests), stats=stats), chunked=True)

    def _stage_model(self, task: _Task, stage: Stage) -> VllmModel | OpenAIModel | None:
        spec = task.loaded.spec
        name = {
            Stage.GENERATE: spec.generate.model,
            Stage.ENRICH: spec.enrich.model,
            Stage.SOLVE: spec.verify.model if isinstance(spec.verify, VoteVerify) else None,
        }.get(stage)
        return self.models[name] if name else None

    def _stage_sampling(self, task: _Task, stage: Stage) -> dict[str, Any] | None:
        spec = task.loaded.spec
        sampling = {
            Stage.GENERATE: spec.generate.sampling,
            Stage.ENRICH: spec.enrich.sampling,
            Stage.SOLVE: spec.verify.sampling if isinstance(spec.verify, VoteVerify) else None,
        }.get(stage)
        return sampling.model_dump(mode="json") if sampling else None

    def _task(self, loaded: LoadedSpec, plan: TaskPlan) -> _Task:
        spec = loaded.spec
        task = _Task(loaded, plan, {s.stage: s.fingerprint for s in plan.stages})
        base = loaded.ref(("generate", "prompt")).file.parent
        task.prompts["generate"] = resolve_prompt_text(spec.generate.prompt, base)
        solve = spec.verify.prompt if isinstance(spec.verify, VoteVerify) else "solve"
        task.prompts["solve"] = resolve_prompt_text(solve, loaded.ref(("verify", "prompt")).file.parent)
        for variant in spec.enrich.variants:
            ref = spec.enrich.prompts.get(variant, variant)
            task.prompts[f"enrich:{variant}"] = resolve_prompt_text(
                ref, loaded.ref(("enrich", "prompts", variant)).file.parent
            )
        return task


# Stages whose rows have a fixed schema (see tables.py); seeds keep the source's own columns.
_TABLE_STAGES = {"normalise", "parse", "solve", "verify", "enrich", "dedup", "decontaminate", "package"}


# Stop instead of recording a chunk of failures when most requests failed: the endpoint is likely
# down or misconfigured, and a resume after the fix retries them (failures are never cached).
_MAX_FAILED_SHARE = 0.5


def _stop_if_failing(model_name: str, chunk: list[Request], results: dict[str, Result]) -> None:
    failed = [results[r.id] for r in chunk if not results[r.id].ok]
    if failed and (len(failed) == len(chunk) or (len(chunk) >= 8 and len(failed) / len(chunk) > _MAX_FAILED_SHARE)):
        raise ApplyError(
            f"model {model_name!r}: {len(failed)} of {len(chunk)} requests failed; first error: {failed[0].error}"
        )


def _resolve_local_model(config: VllmModel | OpenAIModel, base: Path) -> VllmModel | OpenAIModel:
    """A vllm model given as a path relative to tsqa.yaml is found from any working directory."""
    if isinstance(config, VllmModel) and not Path(config.model).is_absolute() and (base / config.model).is_dir():
        return config.model_copy(update={"model": str((base / config.model).resolve())})
    return config


def _identity(config: VllmModel | OpenAIModel) -> dict[str, Any]:
    identity: dict[str, Any] = {"engine": config.engine, "model": config.model, "revision": config.revision}
    if isinstance(config, VllmModel):
        identity |= {"tokenizer": config.tokenizer, "dtype": config.dtype}
    return identity


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def read_seed_table(loaded: LoadedSpec, project: LoadedProject) -> pa.Table:
    """The task's training rows: from the seed store when fetched, else straight from local files
    (or a local dataset copy); never an eval split (the seeds loader's guard refuses it)."""
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.load import read_split
    from tsqa.seeds.source import resolve_seed
    from tsqa.seeds.store import SeedStore

    spec = loaded.spec
    store = SeedStore.for_project(project.path, project.project)
    try:
        if store.meta(spec) is not None:
            return store.read(spec)
        return read_split(resolve_seed(spec, load_catalog()), spec_dir=loaded.path.parent, limit=spec.seed.limit)
    except SeedError as exc:
        raise ApplyError(f"task {spec.task!r}: {exc}") from None
