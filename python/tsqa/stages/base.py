"""What a stage is. One `StageDef` per stage, in its own module (stages/<stage>.py), declares:

- `fingerprint_inputs`: the spec fields (and resolved inputs) the stage reads — its fingerprint;
- `model_call`, for model stages: the one place that reads its model, sampling and prompts;
- `schema`: its output table (stages/schema.py holds every stage's);
- `process` (rows stages) or `requests` + `collect` (model stages): Arrow tables in, `Filtered`
  (kept rows, rejected rows each with a reason) out.

The compiler, the executor, manifests, measured rates, the report and the summary iterate the
registry (stages/registry.py); none of them names a stage's fields. Like datatrove's
`PipelineStep`/`BaseFilter`, a filter never drops a row silently: what it does not keep it returns
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.stages.schema import REJECTS
from tsqa.store.shards import INTERMEDIATE

FIRST_SEEDS = 8
"""Normalised seeds a task's worked examples are drawn from (`TaskContext.first_seeds`)."""

if TYPE_CHECKING:
    from tsqa.compile.plan import ModelCallPlan, TaskPlan
    from tsqa.engines.base import Request, Result
    from tsqa.prompts import PromptStage
    from tsqa.spec.load import LoadedProject, LoadedSpec
    from tsqa.spec.models import TaskSpec
    from tsqa.spec.models.sampling import Sampling
    from tsqa.store.manifest import Manifest


class Kind(str, Enum):
    SOURCE = "source"  # reads the task's seeds
    ROWS = "rows"  # a pure transform of the upstream stage's rows
    MODEL = "model"  # builds requests from its input rows, turns results into rows
    GROUP = "group"  # runs over several tasks at once (dedup across tasks)
    SINK = "sink"  # project-level output written from the other stages' manifests (blend)


class StageError(Exception):
    """A stage that cannot run (unreadable seeds, eval file, dedup index); the message says why."""


@dataclass(frozen=True)
class Filtered:
    """A stage's output: the rows kept and the rows rejected, each with its reason."""

    kept: pa.Table
    rejects: pa.Table = field(default_factory=REJECTS.empty_table)

    @property
    def rows_in(self) -> int:
        return int(self.kept.num_rows + self.rejects.num_rows)


@dataclass(frozen=True)
class PromptSource:
    ref: object
    """A prompt reference of the spec (built-in name, {file}, {inline})."""
    path: tuple[str | int, ...]
    """Its field path in the merged spec: relative files resolve against the file it came from."""


@dataclass(frozen=True)
class ModelCall:
    """What the spec says about a model stage."""

    role: str
    """How provenance names the model (generator, solver, enricher)."""
    model: str
    prompt_stage: PromptStage
    prompts: dict[str, PromptSource]
    """Variant ("" for single-prompt stages) → where its template comes from."""
    sampling: Sampling
    samples: int = 1
    requests_per_row: int = 1


@dataclass(frozen=True)
class FingerprintContext:
    """Inputs of fingerprints that are not spec fields: resolved by the compiler."""

    snapshot: list[str]
    """Content hashes of the seed snapshot's metadata files."""
    catalog_version: str | None
    calls: Mapping[Stage, ModelCallPlan]
    dedup_peers: list[str]
    eval_data: list[str]

    def model_inputs(self, stage: Stage) -> dict[str, Any]:
        call = self.calls[stage]
        return {"model": call.identity, "prompts": call.prompts}


@dataclass
class TaskContext:
    """One task as the executor runs it: its spec, its plan and a reader of finished stages."""

    loaded: LoadedSpec
    project: LoadedProject
    plan: TaskPlan
    read: Callable[[Stage, list[str] | None], pa.Table]
    """The output table (or some columns of it) of a completed stage of this task."""
    shards: Callable[[Stage], Iterator[pa.Table]]
    """The output of a completed stage, shard by shard: memory bounded by one shard."""
    rows: Callable[[Stage], int]
    """Rows a completed stage wrote (from shard metadata, nothing read)."""

    @property
    def spec(self) -> TaskSpec:
        return self.loaded.spec

    @property
    def name(self) -> str:
        return self.loaded.spec.task

    def call(self, stage: Stage) -> ModelCallPlan | None:
        return self.plan.stage(stage).call

    @cached_property
    def first_seeds(self) -> pa.Table:
        """The first `FIRST_SEEDS` normalised seeds (the worked examples in prompts are drawn from
        them), read once per task from the first shards instead of the whole table per request batch."""
        tables, rows = [], 0
        for shard in self.shards(Stage.NORMALISE):
            tables.append(shard.slice(0, FIRST_SEEDS - rows))
            rows += tables[-1].num_rows
            if rows >= FIRST_SEEDS:
                break
        if not tables:
            return self.read(Stage.NORMALISE, None).slice(0, 0)
        return pa.concat_tables(tables)

    @cached_property
    def with_context(self) -> bool:
        """Whether the task's seeds carry a context passage (generation must then write one)."""
        import pyarrow.compute as pc

        context = self.read(Stage.NORMALISE, ["context"]).column("context")
        return bool(pc.any(pc.fill_null(pc.greater(pc.utf8_length(context), 0), False)).as_py() or False)


class StageDef:
    stage: ClassVar[Stage]
    kind: ClassVar[Kind] = Kind.ROWS
    reads: ClassVar[Stage | None] = None
    """The stage whose rows this one consumes."""
    schema: ClassVar[pa.Schema | None] = None
    in_yield: ClassVar[bool] = True
    """Shown as a column of the yield tables (report, end-of-run summary)."""
    keep_rate: ClassVar[bool] = False
    """Its measured keep rate feeds the next plan's estimates (compile/rates.py)."""
    streams: ClassVar[bool] = True
    """`process` is row-local: the executor feeds it one upstream shard at a time."""
    exports_dataset: ClassVar[bool] = False
    """Its output is also the task's packaged dataset (datasets/<task>/)."""
    shard_compression: ClassVar[str] = INTERMEDIATE
    """Parquet codec of its data shards: lz4 with page CRCs for intermediates, which only later
    stages read (store/shards.py); the packaged dataset is zstd."""
    keeps_rows: ClassVar[bool] = True
    """Its kept rows are written as shards. False (a row-local filter whose reader is row-local
    too: decontaminate): they go straight on to the stage that reads them, in the same pass over
    the rows (one Parquet write and one read fewer per row); its rejects and its manifest are
    written as usual, and a later run that needs its rows computes them again from its upstream
    (the stage is a pure function of that and its fingerprint)."""

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        raise NotImplementedError

    def model_call(self, spec: TaskSpec) -> ModelCall | None:
        """The model call, for a stage that calls a model in this spec (None otherwise)."""
        return None

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        raise NotImplementedError

    def process_stream(self, shards: Iterator[pa.Table], task: TaskContext) -> Iterator[Filtered]:
        """The upstream shards in order → one output per shard (datatrove's `run` over a document
        generator). A stage whose rows depend on their position overrides it to carry state."""
        for shard in shards:
            yield self.process(shard, task)

    def measured_keep(self, manifests: Mapping[str, Manifest], spec: TaskSpec) -> float | None:
        m = manifests[self.stage.value]
        return m.rows_out / m.rows_in if m.rows_in else None


class ModelStageDef(StageDef):
    """A stage that calls a model. Without a model call in a spec (`verify: {kind: none}`) it
    runs `process` instead (a pass-through that records no samples)."""

    kind: ClassVar[Kind] = Kind.MODEL
    row_per_request: ClassVar[bool] = True
    """Each request yields one output row (enrich: one per variant); False when `collect` folds a
    row's requests into that one row (solve: one request per vote sample), so rows in = input rows."""

    def requests(self, task: TaskContext, call: ModelCallPlan, rows: pa.Table) -> tuple[list[Request], list[int]]:
        """The requests for `rows`, in order, and the input row each one comes from."""
        raise NotImplementedError

    def collect(
        self, task: TaskContext, source: pa.Table, requests: Sequence[Request], results: Mapping[str, Result]
    ) -> Filtered:
        """Rows from the results of `requests`; `source` holds the input row of each request."""
        raise NotImplementedError
