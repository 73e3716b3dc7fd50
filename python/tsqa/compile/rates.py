"""Acceptance rates and output-length ratios the estimates use: the last apply's measurements when
it made any, otherwise these defaults (typical of 7-8B instruct models on lm-eval-style seeds)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tsqa.compile.stages import Stage
from tsqa.store.state import TaskState

DEFAULT_KEEP_RATES: dict[Stage, float] = {
    Stage.PARSE: 0.85,  # valid JSON in the format's schema, not a copy of the seed
    Stage.VERIFY: 0.60,  # majority agrees with the generator's answer
    Stage.DEDUP: 0.95,
    Stage.DECONTAMINATE: 0.99,
}
DEFAULT_OUTPUT_RATIOS: dict[Stage, float] = {
    Stage.GENERATE: 0.50,  # generated tokens ÷ max_tokens
    Stage.SOLVE: 0.40,
    Stage.ENRICH: 0.50,
}


@dataclass(frozen=True)
class Rates:
    keep: dict[Stage, float] = field(default_factory=lambda: dict(DEFAULT_KEEP_RATES))
    output_ratio: dict[Stage, float] = field(default_factory=lambda: dict(DEFAULT_OUTPUT_RATIOS))
    measured: bool = False


def rates_for(state: TaskState | None) -> Rates:
    if state is None or not (state.rates or state.output_ratio):
        return Rates()
    names = {s.value for s in Stage}
    keep = dict(DEFAULT_KEEP_RATES)
    keep.update({Stage(k): v for k, v in state.rates.items() if k in names})
    ratios = dict(DEFAULT_OUTPUT_RATIOS)
    ratios.update({Stage(k): v for k, v in state.output_ratio.items() if k in names})
    return Rates(keep, ratios, measured=True)
