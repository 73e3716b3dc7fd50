"""solve: `samples` independent solutions per parsed question, for the vote in verify. Multiple
choice: one request per sample, each showing the options in its own order (stages/option_order.py),
and every sample's choice (the option's letter, or with `verify.answer_by: text` its text) is written
back as the letter of the option in the question's own order, so the vote counts option texts, not
positions. Other formats: one request with n = samples.
With `verify: {kind: none}` no model is called and no samples are recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.curate.vote import majority_vote
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.stages.base import (
    FIRST_SEEDS,
    Filtered,
    FingerprintContext,
    ModelCall,
    ModelStageDef,
    PromptSource,
    TaskContext,
)
from tsqa.stages.option_order import Order, _json_answer, reorder, votes_in_original_order
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.requests import rows_of, solve_orders, solve_requests
from tsqa.stages.schema import SCHEMAS, conform

if TYPE_CHECKING:
    from tsqa.compile.plan import ModelCallPlan
    from tsqa.engines.base import Request, Result


SOLVER_VERSION = 3  # 2: per-sample option orders, a seed as worked example; 3: a JSON letter per sample
EXAMPLE_SEEDS = FIRST_SEEDS  # seed records the worked examples are drawn from


def votes_in_original_order_many(
    questions: Sequence[tuple[int, Sequence[str], Sequence[Order], Sequence[str]]],
) -> list[list[str]]:
    """`votes_in_original_order(texts, orders, options)` (letters, not `answer_by: text`) of many
    questions `(_, texts, orders, options)` in one call of the Rust vote core: each sample is one
    item of the vote with the options it saw (items are independent), instead of one call per
    question (most of solve's collect time)."""
    items = [
        (t, order, options) for _, texts, orders, options in questions for t, order in zip(texts, orders, strict=True)
    ]
    if not items:
        return [[] for _ in questions]
    picked = majority_vote(
        [[_json_answer(t)] for t, _, _ in items],
        mode="multiple_choice",
        options=[reorder(options, order) for _, order, options in items],
    ).winner.to_pylist()
    votes: list[str] = []
    for letter, (_, order, _) in zip(picked, items, strict=True):
        position = LETTERS.find(letter) if isinstance(letter, str) and len(letter) == 1 else -1
        votes.append(f"The final answer is: {LETTERS[order[position]]}" if 0 <= position < len(order) else "")
    out, start = [], 0
    for _, texts, _, _ in questions:
        out.append(votes[start : start + len(texts)])
        start += len(texts)
    return out


class SolveStage(ModelStageDef):
    stage = Stage.SOLVE
    reads = Stage.PARSE
    schema = SCHEMAS["solve"]
    in_yield = False  # one row per question, like parse
    row_per_request = False  # multiple choice: a question's vote samples are separate requests

    def model_call(self, spec: TaskSpec) -> ModelCall | None:
        v = spec.verify
        if not isinstance(v, VoteVerify):
            return None
        permuted = spec.format == "multiple_choice"
        return ModelCall(
            role="solver",
            model=v.model,
            prompt_stage="solve",
            prompts={"": PromptSource(v.prompt, ("verify", "prompt"))},
            sampling=v.sampling,
            samples=1 if permuted else v.samples,
            requests_per_row=v.samples if permuted else 1,
        )

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        if not isinstance(spec.verify, VoteVerify):
            return {"kind": "none"}
        return {
            **ctx.model_inputs(self.stage),
            "samples": spec.verify.samples,
            "sampling": spec.verify.sampling.model_dump(mode="json"),
            "solver": SOLVER_VERSION,
            # only when set: the default keeps the fingerprints of specs written before the field
            **({"answer_by": spec.verify.answer_by} if spec.verify.answer_by != "letter" else {}),
        }

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        table = conform(rows, SCHEMAS["solve"])  # samples and error are null …
        empty = pa.array([[]] * rows.num_rows, pa.list_(pa.string()))
        return Filtered(table.set_column(table.schema.get_field_index("samples"), "samples", empty))  # … no samples

    def requests(self, task: TaskContext, call: ModelCallPlan, rows: pa.Table) -> tuple[list[Request], list[int]]:
        questions = rows_of(rows, "question_id")
        examples = task.first_seeds.select(["seed_id", "question", "options", "answer_index", "answer_text"])
        requests = solve_requests(
            task.spec,
            call,
            questions,
            samples=task.spec.verify.samples,  # type: ignore[union-attr]
            examples=examples.to_pylist(),
        )
        per_row = call.requests_per_row
        return requests, [i for i in range(len(questions)) for _ in range(per_row)]

    def collect(
        self, task: TaskContext, source: pa.Table, requests: Sequence[Request], results: Mapping[str, Result]
    ) -> Filtered:
        spec = task.spec
        k = spec.verify.samples if spec.format == "multiple_choice" else 1  # type: ignore[union-attr]
        if len(requests) % k:
            raise ValueError(f"solve: {len(requests)} requests is not a whole number of questions of {k} samples")
        rows = source.take(pa.array(range(0, source.num_rows, k))) if k > 1 else source
        samples: list[list[str]] = []
        errors: list[str | None] = []
        by_text = isinstance(spec.verify, VoteVerify) and spec.verify.answer_by == "text"
        letters: list[tuple[int, list[str], list[Order], list[str]]] = []  # voted together below
        for q, row in enumerate(rows.select(["question_id", "options"]).to_pylist()):
            group = [results[r.id] for r in requests[q * k : (q + 1) * k]]
            failed = [res.error for res in group if not res.ok]
            errors.append(failed[0] if failed else None)
            orders = solve_orders(spec, k, row) if k > 1 else None
            if orders is None:
                samples.append([t for res in group for t in res.texts])
                continue
            # each sample's choice as the letter of that option in the question's own order
            texts = [res.texts[0] if res.ok and res.texts else "" for res in group]
            if by_text:
                samples.append(votes_in_original_order(texts, orders, row["options"], by_text=True))
            else:
                samples.append([])
                letters.append((q, texts, orders, row["options"]))
        for (q, *_), votes in zip(letters, votes_in_original_order_many(letters), strict=True):
            samples[q] = votes
        table = conform(rows, SCHEMAS["solve"])
        table = table.set_column(
            table.schema.get_field_index("samples"), "samples", pa.array(samples, pa.list_(pa.string()))
        )
        return Filtered(table.set_column(table.schema.get_field_index("error"), "error", pa.array(errors, pa.string())))
