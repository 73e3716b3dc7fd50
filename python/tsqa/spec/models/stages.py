"""Per-stage settings. Every field has a built-in default, so the same models type the project
file's `defaults:` section and a spec's own overrides."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from tsqa.spec.models.common import Name, Probability, SpecModel
from tsqa.spec.models.prompts import PromptRef
from tsqa.spec.models.sampling import Sampling

Variant = Literal["answer_only", "reasoning", "knowledge", "context", "distractors"]
"""Enrichment variants: the answer alone, with step-by-step reasoning, with the background
knowledge it rests on, with a supporting passage, or with why each wrong option is wrong."""

Extractor = Literal["auto", "option", "number", "boxed", "final_answer", "text", "regex", "none"]
"""How an answer is pulled out of a sampled solution before voting. `auto` picks by format:
option for multiple choice, final_answer for short answers, none for free form and code."""


class GenerateStage(SpecModel):
    model: Name = "generator"
    """A model declared in the project file."""
    prompt: PromptRef = "similar_question"
    """Built-in name, `{file: path}` or `{inline: template}`."""
    per_seed: Annotated[int, Field(ge=1, le=64)] = 2
    """New questions asked for per seed record."""
    sampling: Sampling = Sampling(temperature=0.9)
    """Sampling of the generator."""


class EnrichStage(SpecModel):
    model: Name = "generator"
    variants: Annotated[list[Variant], Field(min_length=1)] = ["reasoning", "knowledge"]
    """Enriched answers written per kept question, one per variant."""
    prompts: dict[Variant, PromptRef] = {}
    """Overrides of the built-in prompt per variant."""
    sampling: Sampling = Sampling(temperature=0.7)


class VoteVerify(SpecModel):
    """Solve each question `samples` times and keep it when the majority agrees with it."""

    kind: Literal["vote"] = "vote"
    """`vote` (default) or `none`."""
    model: Name = "generator"
    prompt: PromptRef = "solve"
    """The solver's prompt; it never sees the answer."""
    samples: Annotated[int, Field(ge=1, le=64)] = 5
    """Independent solutions sampled per question."""
    min_agreement: Probability = 0.6
    """Fraction of samples that must agree on the winning answer."""
    require_match: bool = True
    """Also require the winner to equal the generator's own answer."""
    extractor: Extractor = "auto"
    """How the answer is read from a solution: auto, option, number, boxed, final_answer, text, regex, none."""
    pattern: str | None = None
    """Regular expression with one group; required when extractor is `regex`."""
    sampling: Sampling = Sampling(temperature=0.7)
    answer_by: Literal["letter", "text"] = "letter"
    """Multiple choice only: how a vote sample names its choice, the option's letter (`letter`) or
    its text (`text`, constrained to the shown options). Small models copy an option's text more
    reliably than they map it to a letter. Lint refuses `text` on other formats."""

    @model_validator(mode="after")
    def _pattern_goes_with_regex(self) -> VoteVerify:
        if (self.extractor == "regex") != (self.pattern is not None):
            raise ValueError("`pattern` is required with extractor 'regex' and only with it")
        return self


class NoVerify(SpecModel):
    """Keep every parsed question; agreement is not measured."""

    kind: Literal["none"]
    """Selects this kind."""


def _verify_kind(value: Any) -> str | None:
    # `kind` may be left out: voting is the default verification.
    if isinstance(value, dict):
        kind = value.get("kind", "vote")
        return kind if kind in ("vote", "none") else None
    return getattr(value, "kind", None)


Verify = Annotated[
    Annotated[VoteVerify, Tag("vote")] | Annotated[NoVerify, Tag("none")],
    Discriminator(_verify_kind, custom_error_type="verify_kind", custom_error_message="expected kind 'vote' or 'none'"),
]


class DedupStage(SpecModel):
    enabled: bool = True
    """Run exact + MinHash/LSH near-duplicate removal."""
    threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    """Estimated Jaccard similarity above which two records are near-duplicates."""
    num_perm: Annotated[int, Field(ge=16, le=1024, multiple_of=8)] = 128
    """MinHash permutations."""
    ngram: Annotated[int, Field(ge=1, le=32)] = 5
    """Shingle length (words or characters)."""
    shingle: Literal["word", "char"] = "word"
    """Shingle unit."""
    against: list[Literal["seeds", "tasks", "index"]] = ["seeds", "tasks"]
    """Besides the task itself: its seed rows, the other tasks of the run, saved indexes."""
    index: list[str] = []
    """Saved near-dup indexes from earlier runs (used when `against` includes `index`)."""


class DecontaminateStage(SpecModel):
    enabled: bool = True
    """Remove rows that overlap eval data."""
    ngram: Annotated[int, Field(ge=4, le=64)] = 13
    """n-gram length in normalised tokens (13 is the GPT-3 convention)."""
    min_overlap: Annotated[int, Field(ge=1)] = 1
    """A row sharing this many n-grams with any eval text is removed."""
    eval_files: list[str] = []
    """Extra eval texts (JSONL/Parquet) besides the eval splits in the seed store."""


class BlendStage(SpecModel):
    weight: float = 1.0
    """Relative sampling weight of this task in the training blend."""
    target_rows: Annotated[int, Field(ge=1)] | None = None
    """Stop once this many verified rows exist."""
    max_candidates: Annotated[int, Field(ge=1)] | None = None
    """Hard budget of generated candidates spent to reach `target_rows`."""


class StageDefaults(SpecModel):
    """The project file's `defaults:`: merged under every spec's own stage settings."""

    generate: GenerateStage = GenerateStage()
    enrich: EnrichStage = EnrichStage()
    verify: Verify = VoteVerify()
    dedup: DedupStage = DedupStage()
    decontaminate: DecontaminateStage = DecontaminateStage()
    blend: BlendStage = BlendStage()


STAGE_NAMES = tuple(StageDefaults.model_fields)
