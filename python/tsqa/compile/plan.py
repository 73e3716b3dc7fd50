"""The Plan: what `tsqa plan` computes and `-o plan.json` saves. Pure data (pydantic), JSON-stable."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tsqa.compile.stages import ChangeKind, Stage

# 2: stages carry their resolved model call (the plan is the program apply executes).
PLAN_FORMAT_VERSION = 2

StageStatus = Literal["new", "unchanged", "changed", "stale"]
"""new: never applied; changed: its own inputs changed; stale: an upstream stage changed."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageEstimate(_Model):
    rows_in: float = 0
    rows_out: float = 0
    requests: float = 0
    """Model calls (one prompt each)."""
    sequences: float = 0
    """Sampled sequences (requests × n for votes)."""
    prompt_tokens: float = 0
    output_tokens: float = 0
    gpu_hours: float = 0


class ModelCallPlan(_Model):
    """A model stage resolved for one task: everything apply needs to build its requests, so a
    saved plan is executed as written (apply re-reads no prompt file and re-derives no model)."""

    model: str
    """Project model name (the engine config in tsqa.yaml)."""
    identity: dict[str, Any]
    """What determines the outputs (compile/identity.py): in the fingerprint and every cache key."""
    prompt_stage: Literal["generate", "enrich", "solve"]
    """Which stage's prompt variables the templates may use."""
    prompts: dict[str, str]
    """Variant ("" for single-prompt stages) → template text, resolved from built-ins or files."""
    sampling: dict[str, Any]
    """The spec's sampling (JSON form); per-request seeds derive from it."""
    samples: int = 1
    """Sequences sampled per request (votes)."""
    requests_per_row: int = 1
    """Requests per input row (enrichment: one per variant); apply asserts it builds exactly
    rows_in × requests_per_row requests."""
    chunk_size: int
    """Requests per chunk: one shard and one resume point each."""

    @property
    def max_tokens(self) -> int:
        return int(self.sampling["max_tokens"])


class StagePlan(_Model):
    stage: Stage
    fingerprint: str
    status: StageStatus
    model: str | None = None
    """Project model name, for model stages."""
    needs_gpu: bool = False
    """True when this apply must call the model for this stage (not served by done work or the cache)."""
    estimate: StageEstimate = StageEstimate()
    call: ModelCallPlan | None = None
    """The resolved model call, for model stages that call a model in this task."""


class BudgetViolation(_Model):
    """A rendered prompt plus max_tokens that does not fit the model's context."""

    stage: Stage
    model: str
    seed_id: str
    prompt_tokens: int
    max_tokens: int
    max_model_len: int
    violating_rows: int
    sampled_rows: int


class TaskPlan(_Model):
    task: str
    spec_file: str
    group: str | None
    format: str
    seed_rows: int | None
    """Rows of the seed split available (after `limit`); None when unknown."""
    seed_rows_source: str
    """Where the row count came from: seed-store, files, limit, or unknown."""
    used_seed_rows: float
    """Seed rows this plan will use (fewer than seed_rows when target_rows/max_candidates cap it)."""
    prompt_tokens_method: str
    """How prompt tokens were counted: `tokenizer:<source>` or `heuristic:bytes/4`."""
    sampled_rows: int
    """Seed rows the prompts were rendered on."""
    change: ChangeKind
    stages: list[StagePlan]
    expected_rows: float
    """Packaged (verified, deduplicated, decontaminated) rows expected, one per question × variant."""
    expected_tokens: float
    """Tokens of the packaged text column, for the blend file."""
    blend_weight: float
    gpu_hours: float
    """GPU-hours this apply needs for the task (0 when nothing to regenerate)."""
    violations: list[BudgetViolation] = []
    notes: list[str] = []

    def stage(self, stage: Stage) -> StagePlan:
        return next(s for s in self.stages if s.stage is stage)

    @property
    def fingerprints(self) -> dict[Stage, str]:
        return {s.stage: s.fingerprint for s in self.stages}


class Wave(_Model):
    """One engine load: every task's work for one model and stage kind, batched together."""

    model: str
    model_id: str
    stages: list[Stage]
    tasks: list[str]
    requests: float
    gpu_hours: float
    wall_hours: float
    """GPU-hours spread over the model's workers × tensor-parallel GPUs."""
    replicas: str = ""
    """How the model's workers run (engines/replicas.py `describe_workers`): the replica layout on
    this node, the Ray actor pool, or the endpoint's concurrency."""


class Totals(_Model):
    tasks: int
    tasks_with_work: int
    seed_rows: int
    requests: float
    prompt_tokens: float
    output_tokens: float
    gpu_hours: float
    expected_rows: float
    expected_tokens: float
    violations: int


class Plan(_Model):
    plan_format: int = PLAN_FORMAT_VERSION
    tsqa_version: str
    project: str
    project_file: str
    input_digest: str
    """sha256 over every input file's content, the catalogue version and tsqa's version."""
    inputs: dict[str, str]
    """Input path → sha256 of its content (project file, specs, prompt files, seed metadata)."""
    tasks: list[TaskPlan]
    waves: list[Wave]
    totals: Totals

    def task(self, name: str) -> TaskPlan:
        return next(t for t in self.tasks if t.task == name)

    @property
    def has_work(self) -> bool:
        return any(t.change is not ChangeKind.NONE for t in self.tasks)
