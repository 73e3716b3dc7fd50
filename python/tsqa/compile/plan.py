"""The Plan: what `tsqa plan` computes and `-o plan.json` saves. Pure data (pydantic), JSON-stable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from tsqa.compile.stages import ChangeKind, Stage

PLAN_FORMAT_VERSION = 1

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


class StagePlan(_Model):
    stage: Stage
    fingerprint: str
    status: StageStatus
    model: str | None = None
    """Project model name, for model stages."""
    needs_gpu: bool = False
    """True when this apply must call the model for this stage (not served by done work or the cache)."""
    estimate: StageEstimate = StageEstimate()


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

    @property
    def has_work(self) -> bool:
        return any(t.change is not ChangeKind.NONE for t in self.tasks)
