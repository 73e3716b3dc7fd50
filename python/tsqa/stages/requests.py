"""Build the requests of each model stage from its input rows and its resolved call (the plan's
prompt texts and sampling). Pure functions; every template render is bounded by the sandbox."""

from __future__ import annotations

from typing import Any

from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import ChatMessage, Request, Sampling, derive_seed
from tsqa.prompts import STAGE_VARIABLES, PromptShapeError, PromptStage, example_partner, split_turns, worked_example
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.spec.models.sampling import Sampling as SpecSampling
from tsqa.spec.templates import compile_template
from tsqa.stages.option_order import Order, choice_schema, reorder, text_choice_schema, vote_orders
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


class PromptRenderError(ValueError):
    """A prompt that does not render for one record (over a render bound, a template error, turn
    markers that do not form a chat); the message names the request (task/stage/record)."""


def chat(template: str, stage: PromptStage, values: dict[str, Any], request_id: str) -> tuple[ChatMessage, ...]:
    """The request's messages: the rendered prompt split into turns (a worked example is an earlier
    exchange; see tsqa.prompts.split_turns)."""
    try:
        turns = split_turns(render(template, stage, values))
    except PromptShapeError as exc:
        raise PromptRenderError(f"{request_id}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a bound, an undefined value, a filter failing on this record
        raise PromptRenderError(f"{request_id}: the prompt does not render: {type(exc).__name__}: {exc}") from None
    return tuple(ChatMessage(role=role, content=content) for role, content in turns)


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
    spec: TaskSpec,
    call: ModelCallPlan,
    seeds: list[dict[str, Any]],
    *,
    with_context: bool,
    examples: list[dict[str, Any]] | None = None,
) -> list[Request]:
    """`examples`: the seed records worked examples are drawn from (the task's first seeds). They
    must not depend on how the seeds are sliced into chunks: a request's prompt, hence its cache key,
    is then the same whatever the chunk size."""
    template, sampling, base = call.prompts[""], _sampling(call), task_values(spec)
    pool = seeds if examples is None else examples
    out = []
    for row in seeds:
        rid = f"{spec.task}/generate/{row['seed_id']}"
        options = row.get("options")
        schema = generation_schema(
            spec.format, spec.generate.per_seed, len(options) if options else None, with_context=with_context
        )
        partner = example_partner([r["seed_id"] for r in pool], row["seed_id"])  # worked example: another seed
        example = {} if partner is None else worked_example(pool[partner], spec.format, with_context=with_context)
        out.append(
            Request(
                id=rid,
                messages=chat(template, call.prompt_stage, {**base, **record_values(row), **example}, rid),
                sampling=engine_sampling(sampling, rid),
                json_schema=schema,
            )
        )
    return out


def solve_orders(spec: TaskSpec, samples: int, question: dict[str, Any]) -> list[Order] | None:
    """For multiple choice, the option order each vote sample sees (a Latin square of a seeded
    permutation: a solver's position preference cannot fake agreement); None otherwise."""
    options = question.get("options")
    if spec.format != "multiple_choice" or not options or not isinstance(spec.verify, VoteVerify):
        return None
    return vote_orders(
        len(options), samples, key=f"{spec.task}/{question['question_id']}", seed=spec.verify.sampling.seed
    )


def solve_requests(
    spec: TaskSpec,
    call: ModelCallPlan,
    questions: list[dict[str, Any]],
    *,
    samples: int,
    examples: list[dict[str, Any]] | None = None,
) -> list[Request]:
    """Multiple choice: `samples` requests per question, each with its own option order (ids
    `<task>/solve/<question>/<k>`). Other formats: one request with n = samples. `examples`: seed
    records of the task, one of which (picked by question id) is the prompt's worked example."""
    template, sampling, base = call.prompts[""], _sampling(call), task_values(spec)
    by_text = isinstance(spec.verify, VoteVerify) and spec.verify.answer_by == "text"
    base["answer_by"] = "text" if by_text else "letter"
    out = []
    for row in questions:
        rid = f"{spec.task}/solve/{row['question_id']}"
        example = _solve_example(spec, examples, rid)
        orders = solve_orders(spec, samples, row)
        if orders is None:
            values = {**base, **record_values(row), **example}
            out.append(
                Request(
                    id=rid,
                    messages=chat(template, call.prompt_stage, values, rid),
                    sampling=engine_sampling(sampling, rid, n=call.samples),
                )
            )
            continue
        for k, order in enumerate(orders):
            sid = f"{rid}/{k}"
            shown = reorder(row["options"], order)
            values = {**base, **record_values(row), "choices": shown, **example}
            out.append(
                Request(
                    id=sid,
                    messages=chat(template, call.prompt_stage, values, sid),
                    sampling=engine_sampling(sampling, sid),
                    json_schema=text_choice_schema(shown) if by_text else choice_schema(len(order)),
                )
            )
    return out


def _solve_example(spec: TaskSpec, examples: list[dict[str, Any]] | None, request_id: str) -> dict[str, Any]:
    if not examples:
        return {}
    pick = derive_seed(0, request_id) % len(examples)
    return {"example": worked_example(examples[pick], spec.format, with_context=False)["example"]}


def enrich_requests(spec: TaskSpec, call: ModelCallPlan, questions: list[dict[str, Any]]) -> list[Request]:
    """One request per question × variant, variants in the plan's order."""
    sampling, base = _sampling(call), task_values(spec)
    out = []
    for row in questions:
        values = {**base, **record_values(row)}
        for variant, template in call.prompts.items():
            rid = f"{spec.task}/enrich/{row['question_id']}/{variant}"
            out.append(
                Request(
                    id=rid,
                    messages=chat(template, call.prompt_stage, {**values, "variant": variant}, rid),
                    sampling=engine_sampling(sampling, rid),
                )
            )
    return out
