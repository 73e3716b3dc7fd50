"""Build the requests of each model stage from its input rows and its resolved call (the plan's
prompt texts and sampling). Pure functions; every template render is bounded by the sandbox."""

from __future__ import annotations

from typing import Any

from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import ChatMessage, Request, Sampling, derive_seed
from tsqa.prompts import STAGE_VARIABLES, PromptStage
from tsqa.spec.models import TaskSpec
from tsqa.spec.models.sampling import Sampling as SpecSampling
from tsqa.spec.templates import compile_template
from tsqa.stages.output_schema import generation_schema


def engine_sampling(sampling: SpecSampling, request_id: str, n: int = 1) -> Sampling:
    return Sampling(
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        max_tokens=sampling.max_tokens,
        seed=derive_seed(sampling.seed, request_id),
        stop=tuple(sampling.stop),
        n=n,
    )


def render(template: str, stage: PromptStage, values: dict[str, Any]) -> str:
    allowed = STAGE_VARIABLES[stage]
    return compile_template(template).render(**{k: v for k, v in values.items() if k in allowed})


def task_values(spec: TaskSpec) -> dict[str, Any]:
    return {
        "task": spec.task,
        "description": spec.description,
        "format": spec.format,
        "per_seed": spec.generate.per_seed,
        "group": spec.group,
    }


def record_values(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "question": row["question"],
        "choices": list(row.get("options") or []),
        "answer": row.get("answer_index") if row.get("answer_index") is not None else row.get("answer_text"),
        "answer_text": row.get("answer_text") or "",
        "context": row.get("context"),
    }


def _sampling(call: ModelCallPlan) -> SpecSampling:
    return SpecSampling.model_validate(call.sampling)


def generate_requests(
    spec: TaskSpec, call: ModelCallPlan, seeds: list[dict[str, Any]], *, with_context: bool
) -> list[Request]:
    template, sampling, base = call.prompts[""], _sampling(call), task_values(spec)
    out = []
    for row in seeds:
        rid = f"{spec.task}/generate/{row['seed_id']}"
        options = row.get("options")
        schema = generation_schema(
            spec.format, spec.generate.per_seed, len(options) if options else None, with_context=with_context
        )
        prompt = render(template, call.prompt_stage, {**base, **record_values(row)})
        out.append(
            Request(
                id=rid,
                messages=(ChatMessage(role="user", content=prompt),),
                sampling=engine_sampling(sampling, rid),
                json_schema=schema,
            )
        )
    return out


def solve_requests(spec: TaskSpec, call: ModelCallPlan, questions: list[dict[str, Any]]) -> list[Request]:
    template, sampling, base = call.prompts[""], _sampling(call), task_values(spec)
    out = []
    for row in questions:
        rid = f"{spec.task}/solve/{row['question_id']}"
        prompt = render(template, call.prompt_stage, {**base, **record_values(row)})
        out.append(
            Request(
                id=rid,
                messages=(ChatMessage(role="user", content=prompt),),
                sampling=engine_sampling(sampling, rid, n=call.samples),
            )
        )
    return out


def enrich_requests(spec: TaskSpec, call: ModelCallPlan, questions: list[dict[str, Any]]) -> list[Request]:
    """One request per question × variant, variants in the plan's order."""
    sampling, base = _sampling(call), task_values(spec)
    out = []
    for row in questions:
        values = {**base, **record_values(row)}
        for variant, template in call.prompts.items():
            rid = f"{spec.task}/enrich/{row['question_id']}/{variant}"
            prompt = render(template, call.prompt_stage, {**values, "variant": variant})
            out.append(
                Request(
                    id=rid,
                    messages=(ChatMessage(role="user", content=prompt),),
                    sampling=engine_sampling(sampling, rid),
                )
            )
    return out
