"""Build the model requests of each model stage from its input rows (pure functions)."""

from __future__ import annotations

from typing import Any

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


def _task_values(spec: TaskSpec) -> dict[str, Any]:
    return {
        "task": spec.task,
        "description": spec.description,
        "format": spec.format,
        "per_seed": spec.generate.per_seed,
        "group": spec.group,
    }


def _record_values(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "question": row["question"],
        "choices": list(row.get("options") or []),
        "answer": row.get("answer_index") if row.get("answer_index") is not None else row.get("answer_text"),
        "answer_text": row.get("answer_text") or "",
        "context": row.get("context"),
    }


def generate_requests(
    spec: TaskSpec, template: str, seeds: list[dict[str, Any]], *, with_context: bool
) -> list[Request]:
    out = []
    for row in seeds:
        rid = f"{spec.task}/generate/{row['seed_id']}"
        options = row.get("options")
        schema = generation_schema(
            spec.format, spec.generate.per_seed, len(options) if options else None, with_context=with_context
        )
        prompt = render(template, "generate", {**_task_values(spec), **_record_values(row)})
        out.append(
            Request(
                id=rid,
                messages=(ChatMessage(role="user", content=prompt),),
                sampling=engine_sampling(spec.generate.sampling, rid),
                json_schema=schema,
            )
        )
    return out


def solve_requests(
    spec: TaskSpec, template: str, sampling: SpecSampling, samples: int, questions: list[dict[str, Any]]
) -> list[Request]:
    out = []
    for row in questions:
        rid = f"{spec.task}/solve/{row['question_id']}"
        prompt = render(template, "solve", {**_task_values(spec), **_record_values(row)})
        out.append(
            Request(
                id=rid,
                messages=(ChatMessage(role="user", content=prompt),),
                sampling=engine_sampling(sampling, rid, n=samples),
            )
        )
    return out


def enrich_requests(spec: TaskSpec, templates: dict[str, str], questions: list[dict[str, Any]]) -> list[Request]:
    out = []
    for row in questions:
        for variant in spec.enrich.variants:
            rid = f"{spec.task}/enrich/{row['question_id']}/{variant}"
            prompt = render(
                templates[variant], "enrich", {**_task_values(spec), **_record_values(row), "variant": variant}
            )
            out.append(
                Request(
                    id=rid,
                    messages=(ChatMessage(role="user", content=prompt),),
                    sampling=engine_sampling(spec.enrich.sampling, rid),
                )
            )
    return out
