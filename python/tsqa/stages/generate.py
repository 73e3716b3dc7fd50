"""generate: one request per normalised seed asking for `per_seed` new questions like it, as JSON
constrained to the format's schema. Every response becomes a candidate row (failed calls too: parse
rejects them as engine errors, so every seed is accounted for)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, ModelCall, ModelStageDef, PromptSource, TaskContext
from tsqa.stages.requests import generate_requests, rows_of
from tsqa.stages.schema import SCHEMAS, to_table
from tsqa.stages.solve import EXAMPLE_SEEDS

if TYPE_CHECKING:
    from tsqa.compile.plan import ModelCallPlan
    from tsqa.engines.base import Request, Result


class GenerateStage(ModelStageDef):
    stage = Stage.GENERATE
    reads = Stage.NORMALISE
    schema = SCHEMAS["generate"]

    def model_call(self, spec: TaskSpec) -> ModelCall:
        g = spec.generate
        return ModelCall(
            role="generator",
            model=g.model,
            prompt_stage="generate",
            prompts={"": PromptSource(g.prompt, ("generate", "prompt"))},
            sampling=g.sampling,
        )

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {
            **ctx.model_inputs(self.stage),
            "per_seed": spec.generate.per_seed,
            "sampling": spec.generate.sampling.model_dump(mode="json"),
            "task": spec.task,
            "description": spec.description,
        }

    def requests(self, task: TaskContext, call: ModelCallPlan, rows: pa.Table) -> tuple[list[Request], list[int]]:
        columns = ["seed_id", "question", "options", "answer_index", "answer_text", "context"]
        examples = task.first_seeds.select(columns).slice(0, EXAMPLE_SEEDS).to_pylist()
        requests = generate_requests(
            task.spec, call, rows_of(rows, "seed_id"), with_context=task.with_context, examples=examples
        )
        return requests, list(range(len(requests)))

    def collect(
        self, task: TaskContext, source: pa.Table, requests: Sequence[Request], results: Mapping[str, Result]
    ) -> Filtered:
        out = []
        for req, seed in zip(requests, source.select(["seed_id", "question", "options"]).to_pylist(), strict=True):
            res = results[req.id]
            out.append(
                {
                    "candidate_id": seed["seed_id"],
                    "seed_id": seed["seed_id"],
                    "seed_question": seed["question"],
                    "n_options": len(seed["options"]) if seed.get("options") else None,
                    "text": res.texts[0] if res.ok and res.texts else None,
                    "finish_reason": res.finish_reasons[0] if res.finish_reasons else None,
                    "error": res.error,
                    "prompt_tokens": res.prompt_tokens,
                    "completion_tokens": res.completion_tokens,
                }
            )
        return Filtered(to_table("generate", out))
