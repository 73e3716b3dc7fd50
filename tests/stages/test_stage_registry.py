"""The registry is the single description of the DAG: every stage once, in order, each with what
the compiler and executor need."""

from __future__ import annotations

from tsqa.compile.stages import MODEL_STAGES, STAGE_ORDER, Stage
from tsqa.spec.models import NoVerify, TaskSpec
from tsqa.stages.base import Kind, ModelStageDef
from tsqa.stages.registry import MODEL_STAGE_DEFS, REGISTRY, YIELD_STAGES

SPEC = TaskSpec.model_validate(
    {"task": "t", "seed": {"files": "x.jsonl", "license": "mit"}, "format": "multiple_choice"}
)


def test_every_stage_once_in_dag_order_reading_an_earlier_stage() -> None:
    assert tuple(s.stage for s in REGISTRY) == STAGE_ORDER
    for position, sdef in enumerate(REGISTRY):
        if sdef.reads is not None:
            assert STAGE_ORDER.index(sdef.reads) < position, sdef.stage
        assert (sdef.kind is Kind.SOURCE) == (sdef.reads is None), sdef.stage


def test_model_stages_declare_their_call_and_table() -> None:
    assert {s.stage for s in MODEL_STAGE_DEFS} == MODEL_STAGES
    for sdef in MODEL_STAGE_DEFS:
        call = sdef.model_call(SPEC)
        assert call is not None and call.model == "generator" and call.prompts
        assert sdef.schema is not None
    enrich = next(s for s in MODEL_STAGE_DEFS if s.stage is Stage.ENRICH).model_call(SPEC)
    assert enrich is not None and enrich.requests_per_row == len(SPEC.enrich.variants) == 2
    assert all(not isinstance(s, ModelStageDef) or s.kind is Kind.MODEL for s in REGISTRY)


def test_no_vote_means_no_solver_call() -> None:
    spec = SPEC.model_copy(update={"verify": NoVerify(kind="none")})
    solve = next(s for s in MODEL_STAGE_DEFS if s.stage is Stage.SOLVE)
    assert solve.model_call(spec) is None


def test_yield_columns() -> None:
    assert Stage.SOLVE not in YIELD_STAGES and Stage.BLEND not in YIELD_STAGES
    assert YIELD_STAGES[0] is Stage.SEEDS and YIELD_STAGES[-1] is Stage.PACKAGE
