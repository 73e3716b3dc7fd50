"""The stage registry: every stage of a task's DAG, in execution order. Adding a stage is one new
module under stages/ and one line here."""

from __future__ import annotations

from tsqa.compile.stages import STAGE_ORDER, Stage
from tsqa.stages.base import Kind, ModelStageDef, StageDef
from tsqa.stages.blend import BlendStage
from tsqa.stages.decontaminate import DecontaminateStage
from tsqa.stages.dedup import DedupStage
from tsqa.stages.enrich import EnrichStage
from tsqa.stages.generate import GenerateStage
from tsqa.stages.normalise import NormaliseStage
from tsqa.stages.package import PackageStage
from tsqa.stages.parse import ParseStage
from tsqa.stages.seeds import SeedsStage
from tsqa.stages.solve import SolveStage
from tsqa.stages.verify import VerifyStage

REGISTRY: tuple[StageDef, ...] = (
    SeedsStage(),
    NormaliseStage(),
    GenerateStage(),
    ParseStage(),
    SolveStage(),
    VerifyStage(),
    EnrichStage(),
    DedupStage(),
    DecontaminateStage(),
    PackageStage(),
    BlendStage(),
)
assert tuple(s.stage for s in REGISTRY) == STAGE_ORDER, "the registry lists every stage in DAG order"

STAGES: dict[Stage, StageDef] = {s.stage: s for s in REGISTRY}
MODEL_STAGE_DEFS: tuple[ModelStageDef, ...] = tuple(s for s in REGISTRY if isinstance(s, ModelStageDef))
YIELD_STAGES: tuple[Stage, ...] = tuple(s.stage for s in REGISTRY if s.in_yield)
"""The stages shown as yield columns (report, summary)."""

__all__ = ["MODEL_STAGE_DEFS", "REGISTRY", "STAGES", "YIELD_STAGES", "Kind"]
