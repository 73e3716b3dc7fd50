"""One task spec: the file a user writes per lm-eval task (specs/<task>.yaml)."""

from __future__ import annotations

from typing import Literal

from tsqa.spec.models.common import Name, SpecModel, Template
from tsqa.spec.models.seed import SeedSource
from tsqa.spec.models.stages import (
    BlendStage,
    DecontaminateStage,
    DedupStage,
    EnrichStage,
    GenerateStage,
    Verify,
    VoteVerify,
)

Format = Literal["multiple_choice", "short_answer", "free_form", "code"]
"""The answer format: options with one correct (multiple_choice), a short string or number
(short_answer), open text (free_form), or a program (code)."""


class FieldMapping(SpecModel):
    """Jinja templates over one seed document that produce the normalised record's fields.
    Omitted fields follow the lm-eval task's own rules (or same-named columns for files/hf)."""

    question: Template | None = None
    choices: Template | None = None
    """Must render to a list (multiple choice only)."""
    answer: Template | None = None
    """Index into the choices, or the answer text."""
    context: Template | None = None


class TaskSpec(SpecModel):
    """A task: its seeds, how they are read, and how new Q&A is generated, checked and blended."""

    task: Name
    """Unique name of the task in the run; usually the lm-eval task name."""
    group: Name | None = None
    """Blend group (knowledge, reasoning, or any label). Default: the lm-eval family's group."""
    description: str | None = None
    seed: SeedSource
    format: Format
    fields: FieldMapping = FieldMapping()
    generate: GenerateStage = GenerateStage()
    enrich: EnrichStage = EnrichStage()
    verify: Verify = VoteVerify()
    dedup: DedupStage = DedupStage()
    decontaminate: DecontaminateStage = DecontaminateStage()
    blend: BlendStage = BlendStage()
