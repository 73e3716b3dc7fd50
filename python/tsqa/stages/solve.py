"""solve: `samples` independent solutions per parsed question (one request with n = samples), for
the vote in verify. With `verify: {kind: none}` no model is called and no samples are recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.stages.base import Filtered, FingerprintContext, ModelCall, ModelStageDef, PromptSource, TaskContext
from tsqa.stages.requests import solve_requests
from tsqa.stages.schema import SCHEMAS, conform

if TYPE_CHECKING:
    from tsqa.compile.plan import ModelCallPlan
    from tsqa.engines.base import Request, Result


class SolveStage(ModelStageDef):
    stage = Stage.SOLVE
    reads = Stage.PARSE
    schema = SCHEMAS["solve"]
    in_yield = False  # one row per question, like parse

    def model_call(self, spec: TaskSpec) -> ModelCall | None:
        v = spec.verify
        if not isinstance(v, VoteVerify):
            return None
        return ModelCall(
            role="solver",
            model=v.model,
            prompt_stage="solve",
            prompts={"": PromptSource(v.prompt, ("verify", "prompt"))},
            sampling=v.sampling,
            samples=v.samples,
        )

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        if not isinstance(spec.verify, VoteVerify):
            return {"kind": "none"}
        return {
            **ctx.model_inputs(self.stage),
            "samples": spec.verify.samples,
            "sampling": spec.verify.sampling.model_dump(mode="json"),
        }

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        table = conform(rows, SCHEMAS["solve"])  # samples and error are null …
        empty = pa.array([[]] * rows.num_rows, pa.list_(pa.string()))
        return Filtered(table.set_column(table.schema.get_field_index("samples"), "samples", empty))  # … no samples

    def requests(self, task: TaskContext, call: ModelCallPlan, rows: pa.Table) -> tuple[list[Request], list[int]]:
        requests = solve_requests(task.spec, call, rows.to_pylist())
        return requests, list(range(len(requests)))

    def collect(
        self, task: TaskContext, source: pa.Table, requests: Sequence[Request], results: Mapping[str, Result]
    ) -> Filtered:
        samples = pa.array([list(results[r.id].texts) for r in requests], pa.list_(pa.string()))
        errors = pa.array([results[r.id].error for r in requests], pa.string())
        table = conform(source, SCHEMAS["solve"])
        table = table.set_column(table.schema.get_field_index("samples"), "samples", samples)
        return Filtered(table.set_column(table.schema.get_field_index("error"), "error", errors))
