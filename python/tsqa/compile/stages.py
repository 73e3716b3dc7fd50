"""The stage DAG of one task, in execution order, and what kind of work each stage is.

    seeds → normalise → generate → parse → solve → verify → enrich → dedup → decontaminate
          → package → blend

Solving and voting come before enrichment so that GPU time is spent enriching only questions that
passed verification. Each stage's fingerprint covers what it reads plus its upstream fingerprint,
so an edit invalidates exactly the stages at and after the first one that reads it.
"""

from __future__ import annotations

from enum import Enum


class Stage(str, Enum):
    SEEDS = "seeds"
    NORMALISE = "normalise"
    GENERATE = "generate"
    PARSE = "parse"
    SOLVE = "solve"
    VERIFY = "verify"
    ENRICH = "enrich"
    DEDUP = "dedup"
    DECONTAMINATE = "decontaminate"
    PACKAGE = "package"
    BLEND = "blend"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

# Stages that call a model, i.e. cost GPU time.
MODEL_STAGES = frozenset({Stage.GENERATE, Stage.SOLVE, Stage.ENRICH})


class ChangeKind(str, Enum):
    """What re-applying a task costs, named after the earliest stage whose inputs changed."""

    NEW = "new"  # never applied
    REGENERATE = "regenerate"  # seeds, fields, generation prompt/model/sampling: GPU from generate on
    REPARSE = "re-parse"  # parser version: cached responses re-parsed, no GPU for generation
    RESOLVE = "re-solve"  # solver prompt/model/samples/sampling: GPU for votes (and enrichment)
    REVERIFY = "re-verify"  # verification rule only: cached votes re-counted
    REENRICH = "re-enrich"  # enrichment variants/prompts/model: GPU for enrichment only
    REDEDUP = "re-dedup"  # dedup settings only: no GPU
    REDECONTAMINATE = "re-decontaminate"
    REPACKAGE = "re-package"
    REBLEND = "re-blend"  # weight only: no GPU, no data rewritten
    NONE = "unchanged"


CHANGE_BY_STAGE: dict[Stage, ChangeKind] = {
    Stage.SEEDS: ChangeKind.REGENERATE,
    Stage.NORMALISE: ChangeKind.REGENERATE,
    Stage.GENERATE: ChangeKind.REGENERATE,
    Stage.PARSE: ChangeKind.REPARSE,
    Stage.SOLVE: ChangeKind.RESOLVE,
    Stage.VERIFY: ChangeKind.REVERIFY,
    Stage.ENRICH: ChangeKind.REENRICH,
    Stage.DEDUP: ChangeKind.REDEDUP,
    Stage.DECONTAMINATE: ChangeKind.REDECONTAMINATE,
    Stage.PACKAGE: ChangeKind.REPACKAGE,
    Stage.BLEND: ChangeKind.REBLEND,
}
