"""Execute a Plan: every task through every stage of the registry, stage by stage, so that each
model's work for all tasks runs in its wave on one engine, released before the next wave loads
another model.

The plan is the program: prompts, model identities, sampling, chunking and fingerprints come from
it (a saved plan runs as written); the specs give only each stage's own settings, and their
content was checked against the plan's input digests before this runs.

Resumable at any point: a stage is complete when its manifest exists (folders are keyed by the
stage fingerprint) and what the manifest lists is still on disk (checked first: shard footers and
row counts, sha256 too with `verify` and always for the packaged dataset; a damaged stage and every stage after it are recomputed,
from the cache where possible). Model stages write one shard per chunk of requests, reuse chunks
already written with the same content, and get finished calls back from the response cache.
Nothing already produced is lost and nothing is written twice.

Failures are not results: a model stage with requests that still failed after retries stays
incomplete (no manifest), the task goes no further this run (nor does dedup, which reads every
task), and `failures` says what the next apply retries; `accept_failures` records them as rejects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.apply.model_calls import COMMIT_EVERY, CallStats
from tsqa.apply.model_stage import ModelStageError, ModelStageRun, Progress, StageTask, remove_chunk, run_model_wave
from tsqa.apply.run_dir import RunDir
from tsqa.compile.identity import model_identity
from tsqa.compile.plan import Plan, TaskPlan
from tsqa.compile.stages import Stage
from tsqa.engines.registry import EngineFactory, EnginePool, create_engine
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models.project import OpenAIModel, VllmModel
from tsqa.stages.base import Filtered, Kind, ModelStageDef, StageDef, StageError, TaskContext
from tsqa.stages.dedup import QUESTION_COLUMNS, SEED_COLUMNS, DedupStage
from tsqa.stages.registry import REGISTRY, STAGES
from tsqa.store.integrity import Damage, dataset_damage, manifest_damage
from tsqa.store.manifest import MANIFEST_FILE, Manifest, ShardInfo, read_manifest, write_manifest
from tsqa.store.response_cache import ResponseCache
from tsqa.store.shards import (
    INTERMEDIATE,
    ShardWriter,
    UnreadableShard,
    clear_shards,
    coalesced,
    existing_shards,
    export_shards,
    iter_shards,
    read_shard,
    read_shards,
    remove_stray_temporaries,
    shard_name,
    shard_rows,
    shard_sha256,
)

__all__ = ["ApplyError", "Executor", "Progress", "RowMapper"]

RowMapper = Callable[[StageDef, TaskContext, Path], Iterator[Filtered]]
"""Runs a row-local stage's `process` over the upstream shards elsewhere (executors/ray)."""


class ApplyError(Exception):
    """A run that cannot go on (no seeds, engine down); the message says what to do."""


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
        row_mapper: RowMapper | None = None,
        accept_failures: bool = False,
        verify: bool = False,
    ) -> None:
        self.project = project
        self.row_mapper = row_mapper
        self.commit_every = commit_every
        self.accept_failures = accept_failures
        self.verify = verify
        self.failures: dict[tuple[str, str], ModelStageRun] = {}
        """(task, stage) → the model stage left incomplete by calls that failed after retries."""
        self.repairs: list[str] = []
        """What was found damaged and is being rebuilt (stage shards, the cache database)."""
        self.blocked: set[str] = set()
        """Tasks that go no further this run (an incomplete stage upstream)."""
        self.packaged_now: set[str] = set()
        """Tasks whose packaged dataset this run wrote (the blend need not decode it all again)."""
        self.plan = plan
        self.run_dir = RunDir(project.path.parent / project.project.output.dir)
        declared = project.project.models
        self.identities = {name: model_identity(cfg) for name, cfg in declared.items()}
        self.pool = EnginePool(
            {name: _resolve_local_model(cfg, project.path.parent) for name, cfg in declared.items()},
            engine_factory or create_engine,
        )
        self.progress = progress
        by_name = {loaded.spec.task: loaded for loaded in specs}
        self.shard_rows = project.project.output.shard_rows
        self.tasks = [self._context(by_name[t.task], t) for t in plan.tasks]

    # -- driving ---------------------------------------------------------------------------------
    def run(self) -> dict[str, dict[str, Manifest]]:
        for task in self.tasks:
            self._check_on_disk(task)
        cache = ResponseCache(self.run_dir.cache, max_batch=self.commit_every, full_check=self.verify)
        try:
            # A finished stage's shard whose data does not decode (its footer did) is found only
            # when read: that stage and those after it are recomputed, never a dead end. Each
            # repair removes one stage's output, so the loop ends.
            bound = len(REGISTRY) * len(self.tasks) + 1
            for _ in range(bound):
                try:
                    for sdef in REGISTRY:
                        try:
                            self._run(sdef, cache)
                        except (StageError, ModelStageError) as exc:
                            raise ApplyError(str(exc)) from None
                    break
                except UnreadableShard as exc:
                    self.repair_unreadable(exc)
            else:  # more damaged shards than repairs allowed: stages are incomplete, never a success
                raise ApplyError(
                    f"{bound} unreadable shards recomputed and stages are still incomplete; "
                    "run apply again to go on repairing"
                )
        finally:
            self.pool.close()
            cache.close()
            self.repairs += cache.repairs
        return {t.name: {s.value: m for s in Stage if (m := self.manifest(t, s)) is not None} for t in self.tasks}

    @property
    def failed_calls(self) -> int:
        return sum(run.failed for run in self.failures.values())

    def _run(self, sdef: StageDef, cache: ResponseCache) -> None:
        pending = [t for t in self.tasks if self.manifest(t, sdef.stage) is None and t.name not in self.blocked]
        if not pending or sdef.kind is Kind.SINK:  # the blend file is written by the caller
            return
        if isinstance(sdef, DedupStage):
            if self.blocked:  # dedup compares every task's questions: not while one is incomplete
                self.blocked.update(t.name for t in pending)
                return
            self._dedup(sdef, pending)
        elif isinstance(sdef, ModelStageDef):
            for model, tasks in self._waves(sdef.stage, pending):
                self._load_only(model)
                self._model_wave(sdef, tasks, cache)
        else:
            for task in pending:
                self._rows_stage(sdef, task)

    def manifest(self, task: TaskContext, stage: Stage) -> Manifest | None:
        return read_manifest(self._folder(task, stage))

    # -- engines and waves -----------------------------------------------------------------------
    def _waves(self, stage: Stage, pending: list[TaskContext]) -> list[tuple[str | None, list[TaskContext]]]:
        """The plan's waves for `stage`, in order; then tasks with no GPU work left (served by the
        cache), grouped by model; tasks whose spec calls no model for the stage run last."""
        left = {t.name: t for t in pending}
        out: list[tuple[str | None, list[TaskContext]]] = []
        for wave in self.plan.waves:
            if stage in wave.stages:
                tasks = [left.pop(name) for name in wave.tasks if name in left and left[name].call(stage)]
                if tasks:
                    out.append((wave.model, tasks))
        by_model: dict[str | None, list[TaskContext]] = {}
        for task in left.values():
            call = task.call(stage)
            by_model.setdefault(call.model if call else None, []).append(task)
        out += sorted(by_model.items(), key=lambda item: item[0] is None)
        return out

    def _load_only(self, model: str | None) -> None:
        """Release every loaded engine that is not `model`'s, before its wave loads it: two
        different models never hold the accelerator together."""
        if model is None:
            return
        for name in self.pool.loaded():
            if self.identities[name] != self.identities[model]:
                self.pool.release(name)

    # -- stages ----------------------------------------------------------------------------------
    def _rows_stage(self, sdef: StageDef, task: TaskContext) -> None:
        """Upstream shard by shard through `process` (the whole upstream table for a stage that
        is not row-local), kept and rejected rows written as they come, in `shard_rows` shards.
        A stage that does not keep its rows runs in one pass with the stages that read them."""
        self._run_chain(self._chain(sdef, task), task)

    def _chain(self, sdef: StageDef, task: TaskContext) -> list[StageDef]:
        """`sdef` and, while a stage does not keep its rows (`StageDef.keeps_rows`), the pending
        stage that reads them: one pass over the rows runs them all."""
        chain = [sdef]
        while not self._writes_rows(chain[-1]) and (reader := _reader_of(chain[-1])) is not None:
            if self.manifest(task, reader.stage) is not None:
                break
            chain.append(reader)
        return chain

    def _writes_rows(self, sdef: StageDef) -> bool:
        # Row-local stages on Ray run as separate Ray Data passes, each reading the last's shards;
        # rows with no row-local stage to go to in the same pass are written.
        return sdef.keeps_rows or self.row_mapper is not None or _carries_state(sdef) or _reader_of(sdef) is None

    def _input(self, sdef: StageDef, task: TaskContext) -> Iterator[pa.Table]:
        """`sdef`'s input, shard by shard: its upstream's shards, or, when a finished upstream
        stage did not keep its rows, those rows computed again from its own input."""
        assert sdef.reads is not None
        upstream = STAGES[sdef.reads]
        if self._upstream_kept(sdef, task):
            return coalesced(task.shards(upstream.stage))
        if isinstance(upstream, DedupStage):  # its verdicts are its rejects: not computed again
            dropped = self._rejected_ids(task, upstream)
            return (upstream.replay(rows, dropped) for rows in self._input(upstream, task))
        return (upstream.process(rows, task).kept for rows in self._input(upstream, task))

    def _rejected_ids(self, task: TaskContext, sdef: StageDef) -> pa.Array:
        """The ids of the rows a finished stage rejected, as many as its manifest counts (they
        decide which rows a replay keeps: a missing shard is damage, never fewer rejects)."""
        folder = self._folder(task, sdef.stage) / "rejects"
        ids = []
        for _, path in sorted(existing_shards(folder).items()):
            part = read_shard(path, ["id"])
            if part.column("id").type != pa.string():
                raise UnreadableShard(path, f"its id column reads as {part.column('id').type}, not text")
            ids.append(part.column("id"))
        found = pa.chunked_array(ids, pa.string()).combine_chunks() if ids else pa.array([], pa.string())
        manifest = self.manifest(task, sdef.stage)
        expected = sum(manifest.rejections.values()) if manifest is not None else 0
        if len(found) != expected:
            raise UnreadableShard(
                folder / shard_name(0), f"holds {len(found)} rejected rows, the manifest counts {expected}"
            )
        return found

    def _run_chain(self, chain: list[StageDef], task: TaskContext, outputs: Iterable[Filtered] | None = None) -> None:
        """`chain[0]` over its input (or `outputs`, its output given by the caller), each output's
        kept rows through the next stages of the chain in memory. Only the last stage's kept rows
        are written (when it keeps them); every stage's rejects and manifest are, in chain order,
        after all the rows: a run killed before the last manifest redoes the pass."""
        first, last = chain[0], chain[-1]
        writers = []
        for sdef in chain:
            folder = self._folder(task, sdef.stage)
            for part in ("data", "rejects"):
                clear_shards(folder / part)  # what a killed run of this stage left is redone
            kept = (
                ShardWriter(folder / "data", self.shard_rows, sdef.schema, compression=sdef.shard_compression)
                if sdef is last and self._writes_rows(sdef)
                else None
            )
            # lz4 with page CRCs: a stage that keeps no rows is replayed from its rejects.
            writers.append((kept, ShardWriter(folder / "rejects", self.shard_rows, compression=INTERMEDIATE)))
        if outputs is not None:
            pass
        elif first.reads is None:
            outputs = [first.process(pa.table({}), task)]
        elif self.row_mapper is not None and not _carries_state(first) and self._upstream_kept(first, task):
            # Row-local: the same `process`, run where the executor puts it (Ray Data batches).
            upstream = self.run_dir.data(task.name, first.reads.value, task.plan.stage(first.reads).fingerprint)
            outputs = self.row_mapper(first, task, upstream)
        elif first.streams:
            outputs = first.process_stream(self._input(first, task), task)
        else:  # not row-local: the whole upstream table at once
            outputs = [first.process(task.read(first.reads, None), task)]
        rows_in = [0] * len(chain)
        rows_out = [0] * len(chain)
        for first_out in outputs:
            out = first_out
            for i, sdef in enumerate(chain):
                if i:
                    out = sdef.process(out.kept, task)
                rows_in[i] += out.rows_in
                rows_out[i] += out.kept.num_rows
                writers[i][1].write(out.rejects)
            if writers[-1][0] is not None:
                writers[-1][0].write(out.kept)
        for i, sdef in enumerate(chain):
            kept, rejects = writers[i]
            if kept is not None:
                kept.close()
            rejects.close(empty_shard=False)
            if sdef.exports_dataset:
                export_shards(self._folder(task, sdef.stage) / "data", self.run_dir.dataset(task.name))
                self.packaged_now.add(task.name)
            self._finish(task, sdef, rows_in=rows_in[i], rows_out=None if kept is not None else rows_out[i])

    def _upstream_kept(self, sdef: StageDef, task: TaskContext) -> bool:
        """Whether `sdef`'s input is on disk as its upstream's shards (not replayed)."""
        assert sdef.reads is not None
        manifest = self.manifest(task, sdef.reads)
        return manifest is None or manifest.rows_kept

    def _model_wave(self, sdef: ModelStageDef, tasks: list[TaskContext], cache: ResponseCache) -> None:
        """Every task's requests for the stage in one stream per model (executors/stream.py), each
        task's chunks written as they complete and its manifest as soon as its last one is."""
        by_model: dict[str, list[StageTask]] = {}
        for task in tasks:
            call = task.call(sdef.stage)
            if call is None:  # this spec calls no model here (verify: {kind: none})
                self._rows_stage(sdef, task)
                continue
            self._prepare(task, sdef.stage)
            assert sdef.reads is not None
            item = StageTask(task, call, task.shards(sdef.reads), task.rows(sdef.reads), self._folder(task, sdef.stage))
            by_model.setdefault(call.model, []).append(item)
        for model, items in by_model.items():
            run_model_wave(
                sdef,
                items,
                lambda model=model: self.pool.get(model),  # type: ignore[misc]
                cache,
                on_task_done=lambda item, run: self._model_stage_done(sdef, item.task, run),
                progress=self.progress,
                accept_failures=self.accept_failures,
            )

    def _model_stage_done(self, sdef: ModelStageDef, task: TaskContext, run: ModelStageRun) -> None:
        if not run.complete:  # failures are not results: no manifest, the next apply retries them
            self.failures[(task.name, sdef.stage.value)] = run
            self.blocked.add(task.name)
            return
        self._finish(task, sdef, rows_in=run.rows_in, stats=run.stats, accepted=run.accepted)

    def _dedup(self, sdef: DedupStage, pending: list[TaskContext]) -> None:
        # Dedup reads the questions of every task (duplicates across tasks: their text columns,
        # not their rows), then filters the pending tasks' rows shard by shard.
        def shards(t: TaskContext, stage: Stage, columns: list[str]) -> Callable[[], Iterator[pa.Table]]:
            return lambda: iter_shards(self.run_dir.data(t.name, stage.value, t.plan.stage(stage).fingerprint), columns)

        # Shard by shard, read several times: dedup holds a few bytes per question, not the texts.
        tasks = {
            t.name: (t.spec, shards(t, Stage.ENRICH, QUESTION_COLUMNS), shards(t, Stage.NORMALISE, SEED_COLUMNS))
            for t in self.tasks
        }
        index_files = {t.name: [t.loaded.path.parent / p for p in t.spec.dedup.index] for t in self.tasks}
        verdicts = sdef.verdicts(tasks, index_files, save_dir=self.run_dir.root / "dedup-index")
        del tasks
        for task in pending:
            dropped = verdicts[task.name]
            outputs = (sdef.apply(batch, dropped) for batch in coalesced(task.shards(Stage.ENRICH)))
            self._run_chain(self._chain(sdef, task), task, outputs)

    # -- storage ---------------------------------------------------------------------------------
    def _folder(self, task: TaskContext, stage: Stage) -> Path:
        return self.run_dir.stage(task.name, stage.value, task.plan.stage(stage).fingerprint)

    def _context(self, loaded: LoadedSpec, plan: TaskPlan) -> TaskContext:
        fingerprints = plan.fingerprints

        def data(stage: Stage) -> Path:
            folder = self.run_dir.data(plan.task, stage.value, fingerprints[stage])
            if not existing_shards(folder) and not self._writes_rows(STAGES[stage]):
                manifest = read_manifest(folder.parent)
                # Never read as "no rows": they are replayed (_input) or made in the reader's pass.
                assert manifest is not None and manifest.rows_kept, f"{stage.value} rows were not kept"
            return folder

        def read(stage: Stage, columns: list[str] | None = None) -> pa.Table:
            table = read_shards(data(stage), columns)
            if table is not None:
                return table
            schema = STAGES[stage].schema
            empty = schema.empty_table() if schema is not None else pa.table({})
            return empty.select(columns) if columns else empty

        def shards(stage: Stage) -> Iterator[pa.Table]:
            return iter_shards(data(stage))

        return TaskContext(loaded, self.project, plan, read, shards, lambda stage: shard_rows(data(stage)))

    def _prepare(self, task: TaskContext, stage: Stage) -> None:
        folder = self._folder(task, stage)
        remove_stray_temporaries(folder / "data")
        remove_stray_temporaries(folder / "rejects")

    def _exported_by_another(self, task: TaskContext, sdef: StageDef, dataset: Path) -> bool:
        """Whether `dataset` holds exactly the shards another finished fingerprint of `sdef` lists."""
        this = self._folder(task, sdef.stage)
        for other in this.parent.glob(f"*/{MANIFEST_FILE}"):
            manifest = read_manifest(other.parent)
            if other.parent != this and manifest is not None and not dataset_damage(dataset, manifest, full=True):
                return True
        return False

    def repair_unreadable(self, exc: UnreadableShard) -> None:
        """Invalidate the stage (and those after it) that wrote the shard `exc` could not read;
        raises ApplyError if the file belongs to no finished stage of this run."""
        for task in self.tasks:
            stages = [s for s in REGISTRY if s.kind is not Kind.SINK]
            for i, sdef in enumerate(stages):
                folder = self._folder(task, sdef.stage)
                in_dataset = sdef.exports_dataset and exc.path.parent == self.run_dir.dataset(task.name)
                if exc.path.parent not in (folder / "data", folder / "rejects") and not in_dataset:
                    continue
                chunk = isinstance(sdef, ModelStageDef) and not in_dataset
                if read_manifest(folder) is None and not chunk:
                    break  # not finished: not ours to repair here
                # A model stage's chunk (data or rejects, read when the stage finishes) is redone
                # from the cache, finished stage or not: else every apply stops on the same file.
                if chunk:
                    remove_chunk(folder, int(exc.path.stem.split("-")[1]))
                else:
                    exc.path.unlink(missing_ok=True)
                for stale in stages[i:]:
                    (self._folder(task, stale.stage) / MANIFEST_FILE).unlink(missing_ok=True)
                self.repairs.append(
                    f"task {task.name!r}: {_relative(exc.path, self.run_dir.root)} {exc.problem}; "
                    f"recomputing the {sdef.stage.value} stage and those after it"
                )
                return
        raise ApplyError(f"{exc.path}: {exc.problem}")

    def _check_on_disk(self, task: TaskContext) -> None:
        """The first completed stage whose shards are not what its manifest says, and every stage
        after it, lose their manifests (so they are recomputed); a model stage keeps its intact
        chunks, so only the damaged ones are redone (their calls come from the cache)."""
        stages = [s for s in REGISTRY if s.kind is not Kind.SINK]
        for i, sdef in enumerate(stages):
            folder = self._folder(task, sdef.stage)
            manifest = read_manifest(folder)
            if manifest is None:
                continue
            damage: list[Damage] = manifest_damage(self.run_dir.root, manifest, full=self.verify)
            if sdef.exports_dataset and not damage:
                # Always hashed: the dataset is zstd without page CRCs, and a flipped byte can decode
                # to other values (the blend's decode would not notice); ~1/6 of decoding it.
                dataset = self.run_dir.dataset(task.name)
                damage += dataset_damage(dataset, manifest, full=True)
                if damage and self._exported_by_another(task, sdef, dataset):
                    # Not damage: the export of another setting applied since (a license changed
                    # and changed back). This stage's shards are intact: export them again.
                    export_shards(folder / "data", dataset)
                    damage = dataset_damage(dataset, manifest, full=True)
            if not damage:
                continue
            if isinstance(sdef, ModelStageDef):
                for d in damage:
                    if d.file.parent == folder / "data":
                        remove_chunk(folder, int(d.file.stem.split("-")[1]))
            later = stages[i:]
            for stale in later:
                (self._folder(task, stale.stage) / MANIFEST_FILE).unlink(missing_ok=True)
            shown = "; ".join(f"{_relative(d.file, self.run_dir.root)} {d.problem}" for d in damage[:3])
            more = f" (and {len(damage) - 3} more)" if len(damage) > 3 else ""
            after = {0: "", 1: " and the stage after it"}.get(
                len(later) - 1, f" and the {len(later) - 1} stages after it"
            )
            self.repairs.append(
                f"task {task.name!r}: the {sdef.stage.value} stage is damaged ({shown}{more}); recomputing it{after}"
            )
            return

    def _finish(
        self,
        task: TaskContext,
        sdef: StageDef,
        *,
        rows_in: int,
        stats: CallStats | None = None,
        accepted: int = 0,
        rows_out: int | None = None,
    ) -> None:
        """The stage's manifest, written last: the stage is complete. `rows_out` given: its kept
        rows were not written (`StageDef.keeps_rows`), that many went on to the next stage."""
        folder = self._folder(task, sdef.stage)
        data, rejects = folder / "data", folder / "rejects"

        def listed(folder: Path) -> list[ShardInfo]:
            return [
                ShardInfo(file=str(p.relative_to(self.run_dir.root)), rows=_rows(p), sha256=shard_sha256(p))
                for _, p in sorted(existing_shards(folder).items())
            ]

        shards = listed(data)
        reasons: Counter[str] = Counter()
        for part in iter_shards(rejects, ["reason"]):
            reasons.update(dict(zip(*_value_counts(part.column("reason")), strict=True)))
        stats = stats or CallStats()
        call = task.call(sdef.stage)
        write_manifest(
            folder,
            Manifest(
                task=task.name,
                stage=sdef.stage.value,
                fingerprint=task.plan.stage(sdef.stage).fingerprint,
                plan_digest=self.plan.input_digest,
                rows_in=rows_in,
                rows_out=sum(s.rows for s in shards) if rows_out is None else rows_out,
                shards=shards,
                rows_kept=rows_out is None,
                rejects=[] if rows_out is None else listed(rejects),
                rejections=dict(reasons),
                requests=stats.requests,
                cache_hits=stats.cache_hits,
                prompt_tokens=stats.prompt_tokens,
                completion_tokens=stats.completion_tokens,
                model=call.identity["model"] if call else None,
                model_revision=call.identity["revision"] if call else None,
                sampling=call.sampling if call else None,
                failures_accepted=accepted,
                completed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )


def _resolve_local_model(config: VllmModel | OpenAIModel, base: Path) -> VllmModel | OpenAIModel:
    """A vllm model given as a path relative to tsqa.yaml is found from any working directory."""
    if isinstance(config, VllmModel) and not Path(config.model).is_absolute() and (base / config.model).is_dir():
        return config.model_copy(update={"model": str((base / config.model).resolve())})
    return config


def _value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    counts = column.value_counts()
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def _reader_of(sdef: StageDef) -> StageDef | None:
    """The row-local stage that reads `sdef`'s rows in the same pass, if there is one."""
    readers = [s for s in REGISTRY if s.reads == sdef.stage]
    if len(readers) == 1 and readers[0].kind is Kind.ROWS and readers[0].streams and not _carries_state(readers[0]):
        return readers[0]
    return None


def _carries_state(sdef: StageDef) -> bool:
    """A stage whose rows depend on their position across shards (normalise numbers seeds) runs
    its own `process_stream` in order on the driver, never as independent batches."""
    return type(sdef).process_stream is not StageDef.process_stream
