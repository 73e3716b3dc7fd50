"""The arithmetic of a task's plan: rows, requests and tokens per stage. Pure functions.

Per task, with S seed rows used, per_seed questions per seed, k vote samples, V variants:

    generate        S requests                       → S·per_seed candidates
    parse           keeps a fraction p_parse          → P = S·per_seed·p_parse questions
    solve           P requests with n = k            → P·k sampled solutions
    verify          keeps p_verify                    → Q = P·p_verify verified questions
    enrich          Q·V requests                     → Q·V rows (one per question × variant)
    dedup, decontaminate keep p_dedup, p_decon        → expected rows

`target_rows` caps S at what the expected yield needs; `max_candidates` caps S·per_seed.
GPU-hours count decoded tokens at the model's declared throughput, plus prefill at PREFILL_COST of
a decoded token, times its tensor-parallel GPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tsqa.compile.plan import StageEstimate
from tsqa.compile.rates import Rates
from tsqa.compile.stages import Stage

PREFILL_COST = 0.1  # a prompt token costs ~1/10 of a generated one on vLLM at SDG batch sizes


@dataclass(frozen=True)
class TaskShape:
    seed_rows: int
    per_seed: int
    vote_samples: int  # 0 when verification does not vote
    variants: int
    target_rows: int | None
    max_candidates: int | None


@dataclass(frozen=True)
class StageCost:
    """Per-request prompt tokens and max_tokens of one model stage, and its model's speed."""

    prompt_tokens: float
    max_tokens: int
    throughput_tokens_per_s: float
    gpus_per_worker: int


def rows_per_seed(shape: TaskShape, rates: Rates) -> float:
    keep = rates.keep
    verified = shape.per_seed * keep[Stage.PARSE] * (keep[Stage.VERIFY] if shape.vote_samples else 1.0)
    return verified * shape.variants * keep[Stage.DEDUP] * keep[Stage.DECONTAMINATE]


def used_seed_rows(shape: TaskShape, rates: Rates) -> int:
    used = shape.seed_rows
    if shape.target_rows is not None:
        per_seed = rows_per_seed(shape, rates)
        if per_seed > 0:
            used = min(used, math.ceil(shape.target_rows / per_seed))
    if shape.max_candidates is not None:
        used = min(used, shape.max_candidates // shape.per_seed)
    return max(used, 0)


def estimate_stages(shape: TaskShape, rates: Rates, costs: dict[Stage, StageCost]) -> dict[Stage, StageEstimate]:
    keep, ratio = rates.keep, rates.output_ratio
    seeds = float(used_seed_rows(shape, rates))
    candidates = seeds * shape.per_seed
    parsed = candidates * keep[Stage.PARSE]
    verified = parsed * keep[Stage.VERIFY] if shape.vote_samples else parsed
    enriched = verified * shape.variants
    deduped = enriched * keep[Stage.DEDUP]
    clean = deduped * keep[Stage.DECONTAMINATE]

    def model_stage(stage: Stage, rows_in: float, rows_out: float, requests: float, n: int) -> StageEstimate:
        cost = costs[stage]
        prompt = requests * cost.prompt_tokens  # n samples share one prefill (prefix cache)
        output = requests * n * cost.max_tokens * ratio[stage]
        gpu_hours = (output + PREFILL_COST * prompt) / cost.throughput_tokens_per_s / 3600 * cost.gpus_per_worker
        return StageEstimate(
            rows_in=rows_in,
            rows_out=rows_out,
            requests=requests,
            sequences=requests * n,
            prompt_tokens=prompt,
            output_tokens=output,
            gpu_hours=gpu_hours,
        )

    out = {
        Stage.SEEDS: StageEstimate(rows_in=shape.seed_rows, rows_out=seeds),
        Stage.NORMALISE: StageEstimate(rows_in=seeds, rows_out=seeds),
        Stage.GENERATE: model_stage(Stage.GENERATE, seeds, candidates, seeds, 1),
        Stage.PARSE: StageEstimate(rows_in=candidates, rows_out=parsed),
        Stage.SOLVE: (
            model_stage(Stage.SOLVE, parsed, parsed, parsed, shape.vote_samples)
            if shape.vote_samples
            else StageEstimate(rows_in=parsed, rows_out=parsed)
        ),
        Stage.VERIFY: StageEstimate(rows_in=parsed, rows_out=verified),
        Stage.ENRICH: model_stage(Stage.ENRICH, verified, enriched, enriched, 1),
        Stage.DEDUP: StageEstimate(rows_in=enriched, rows_out=deduped),
        Stage.DECONTAMINATE: StageEstimate(rows_in=deduped, rows_out=clean),
        Stage.PACKAGE: StageEstimate(rows_in=clean, rows_out=clean),
        Stage.BLEND: StageEstimate(rows_in=clean, rows_out=clean),
    }
    return out


def packaged_tokens(rows: float, costs: dict[Stage, StageCost], rates: Rates) -> float:
    """Tokens of the rendered text column: the question (≈ the solve prompt) plus the enriched answer."""
    enrich = costs[Stage.ENRICH]
    question = costs[Stage.SOLVE].prompt_tokens if Stage.SOLVE in costs else enrich.prompt_tokens / 2
    return rows * (question + enrich.max_tokens * rates.output_ratio[Stage.ENRICH])
