"""Build the requests of each model stage from its input rows and its resolved call (the plan's
prompt texts and sampling). Pure functions; every template render is bounded by the sandbox.

Per request only what differs is built: prompts are rendered once per shape of their values
(spec/template_shapes.py: the same text as a plain render, within the same bounds), a worked
example and an output schema once per call, and the typed request from values already validated
(the spec's sampling, the rendered turns) without validating them again."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pyarrow as pa

from tsqa.compile.plan import ModelCallPlan
from tsqa.engines.base import ChatMessage, Request, Sampling, derive_seed
from tsqa.prompts import (
    STAGE_VARIABLES,
    PromptShapeError,
    PromptStage,
    example_partner,
    split_shaped_turns,
    split_turns,
    worked_example,
)
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.spec.models.sampling import Sampling as SpecSampling
from tsqa.spec.template_shapes import ShapeRenderer
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


class _Sampler:
    """`engine_sampling` for many requests: the spec's sampling validated once, each request's a
    copy with its own seed (and n)."""

    def __init__(self, sampling: SpecSampling) -> None:
        self.base_seed = sampling.seed
        self.base = engine_sampling(sampling, "", 1)

    def __call__(self, request_id: str, n: int = 1) -> Sampling:
        return self.base.model_copy(update={"seed": derive_seed(self.base_seed, request_id), "n": n})


def render(template: str, stage: PromptStage, values: dict[str, Any], renderer: ShapeRenderer | None = None) -> str:
    allowed = STAGE_VARIABLES[stage]
    return (renderer or ShapeRenderer()).render(template, {k: v for k, v in values.items() if k in allowed})


class PromptRenderError(ValueError):
    """A prompt that does not render for one record (over a render bound, a template error, turn
    markers that do not form a chat); the message names the request (task/stage/record)."""


class Batch:
    """What the requests of one batch share: the shape renderer (the values it is given are not
    changed while the batch is built; see ShapeRenderer) and the chat messages already made (a
    worked example's turns are the same in most requests)."""

    def __init__(self) -> None:
        self.renderer = ShapeRenderer()
        self.messages: dict[tuple[str, str], ChatMessage] = {}

    def message(self, role: str, content: str) -> ChatMessage:
        found = self.messages.get((role, content))
        if found is None:
            if len(self.messages) >= 4096:
                self.messages.clear()
            found = self.messages[(role, content)] = ChatMessage(role=role, content=content)  # type: ignore[arg-type]
        return found


def chat(
    template: str,
    stage: PromptStage,
    values: dict[str, Any],
    request_id: str,
    batch: Batch | None = None,
) -> tuple[ChatMessage, ...]:
    """The request's messages: the rendered prompt split into turns (a worked example is an earlier
    exchange; see tsqa.prompts.split_turns)."""
    batch = batch or Batch()
    try:
        allowed = STAGE_VARIABLES[stage]
        text, shape, holes = batch.renderer.render_parts(template, {k: v for k, v in values.items() if k in allowed})
        turns = split_turns(text) if shape is None else split_shaped_turns(text, shape, holes)
    except PromptShapeError as exc:
        raise PromptRenderError(f"{request_id}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a bound, an undefined value, a filter failing on this record
        raise PromptRenderError(f"{request_id}: the prompt does not render: {type(exc).__name__}: {exc}") from None
    return tuple(batch.message(role, content) for role, content in turns)


_BLANK = Request(id="-", messages=(ChatMessage(role="user", content="-"),))


def _request(rid: str, messages: tuple[ChatMessage, ...], sampling: Sampling, schema: Any = None) -> Request:
    """A request from parts built here, already valid (a non-empty id, at least one message, a
    validated sampling): a copy of a valid request with these fields, not validated again (so
    requests share one schema object: a cache key encodes it once, store/response_cache.RequestKeys)."""
    return _BLANK.model_copy(update={"id": rid, "messages": messages, "sampling": sampling, "json_schema": schema})


def task_values(spec: TaskSpec) -> dict[str, Any]:
    return {
        "task": spec.task,
        "description": spec.description,
        "format": spec.format,
        "per_seed": spec.generate.per_seed,
        "group": spec.group,
    }


RECORD_COLUMNS = ("question", "options", "answer_index", "answer_text", "context")
"""The columns `record_values` reads."""


def rows_of(table: pa.Table, key: str) -> list[dict[str, Any]]:
    """The rows of `table` as dicts of `key` and the record columns it has (the other columns are
    not turned into Python objects)."""
    rows: list[dict[str, Any]] = table.select(
        [c for c in (key, *RECORD_COLUMNS) if c in table.column_names]
    ).to_pylist()
    return rows


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
    template, sample, base = call.prompts[""], _Sampler(_sampling(call)), task_values(spec)
    pool = seeds if examples is None else examples
    pool_ids = [r["seed_id"] for r in pool]
    batch = Batch()
    worked: dict[int, dict[str, Any]] = {}  # pool index → its worked example (built once)
    schemas: dict[int | None, dict[str, Any]] = {}  # option count → the output schema
    out = []
    for row in seeds:
        rid = f"{spec.task}/generate/{row['seed_id']}"
        options = row.get("options")
        n_options = len(options) if options else None
        if (schema := schemas.get(n_options)) is None:
            schema = schemas[n_options] = generation_schema(
                spec.format, spec.generate.per_seed, n_options, with_context=with_context
            )
        partner = example_partner(pool_ids, row["seed_id"])  # worked example: another seed
        example: dict[str, Any] = {}
        if partner is not None and (example := worked.get(partner) or {}) == {}:
            example = worked[partner] = worked_example(pool[partner], spec.format, with_context=with_context)
        messages = chat(template, call.prompt_stage, {**base, **record_values(row), **example}, rid, batch)
        out.append(_request(rid, messages, sample(rid), schema))
    return out


def solve_orders(spec: TaskSpec, samples: int, question: dict[str, Any]) -> list[Order] | None:
    """For multiple choice, the option order each vote sample sees (a Latin square of a seeded
    permutation: a solver's position preference cannot fake agreement); None otherwise."""
    options = question.get("options")
    if spec.format != "multiple_choice" or not options or not isinstance(spec.verify, VoteVerify):
        return None
    return _vote_orders(len(options), samples, f"{spec.task}/{question['question_id']}", spec.verify.sampling.seed)


@lru_cache(maxsize=1 << 15)
def _vote_orders(n_options: int, samples: int, key: str, seed: int | None) -> list[Order]:
    # solve asks for a question's orders twice (building its requests, collecting its votes), a
    # chunk apart: kept for a few chunks (callers only read them)
    return vote_orders(n_options, samples, key=key, seed=seed)


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
    template, sample, base = call.prompts[""], _Sampler(_sampling(call)), task_values(spec)
    by_text = isinstance(spec.verify, VoteVerify) and spec.verify.answer_by == "text"
    base["answer_by"] = "text" if by_text else "letter"
    batch = Batch()
    worked: dict[int, dict[str, Any]] = {}
    schemas: dict[int, dict[str, object]] = {}
    out = []
    for row in questions:
        rid = f"{spec.task}/solve/{row['question_id']}"
        example = _solve_example(spec, examples, rid, worked)
        orders = solve_orders(spec, samples, row)
        values = {**base, **record_values(row), **example}
        if orders is None:
            messages = chat(template, call.prompt_stage, values, rid, batch)
            out.append(_request(rid, messages, sample(rid, call.samples)))
            continue
        for k, order in enumerate(orders):
            sid = f"{rid}/{k}"
            shown = reorder(row["options"], order)
            schema = text_choice_schema(shown) if by_text else schemas.get(len(order))
            if schema is None:
                schema = schemas[len(order)] = choice_schema(len(order))
            messages = chat(template, call.prompt_stage, {**values, "choices": shown}, sid, batch)
            out.append(_request(sid, messages, sample(sid), schema))
    return out


def _solve_example(
    spec: TaskSpec, examples: list[dict[str, Any]] | None, request_id: str, worked: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    if not examples:
        return {}
    pick = derive_seed(0, request_id) % len(examples)
    if (example := worked.get(pick)) is None:
        example = worked[pick] = {"example": worked_example(examples[pick], spec.format, with_context=False)["example"]}
    return example


def enrich_requests(spec: TaskSpec, call: ModelCallPlan, questions: list[dict[str, Any]]) -> list[Request]:
    """One request per question × variant, variants in the plan's order."""
    sample, base, batch = _Sampler(_sampling(call)), task_values(spec), Batch()
    out = []
    for row in questions:
        values = {**base, **record_values(row)}
        for variant, template in call.prompts.items():
            rid = f"{spec.task}/enrich/{row['question_id']}/{variant}"
            messages = chat(template, call.prompt_stage, {**values, "variant": variant}, rid, batch)
            out.append(_request(rid, messages, sample(rid)))
    return out
