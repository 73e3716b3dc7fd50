"""Check enriched answers.

An enrichment must not be empty or truncated, and must not argue for another answer: its final
answer, when one can be extracted, is compared with the verified answer by the Rust vote core (so
"The final answer is: (B)" and the option text count as the same). The packaged text built from
it (stages/packaged_text.py) always ends with the semantic answer, never only a letter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.extractors import EXTRACTION_VERSION, answer_reader
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, ModelCall, ModelStageDef, PromptSource, TaskContext
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.requests import enrich_requests, rows_of
from tsqa.stages.schema import SCHEMAS, rejects_from, to_table

if TYPE_CHECKING:
    from tsqa.compile.plan import ModelCallPlan
    from tsqa.engines.base import Request, Result

_FINAL_MARKERS = ("the final answer is", "final answer:")


def check_enrichments(fmt: str, rows: list[dict[str, Any]], verify: object = None) -> list[str]:
    """A reason per row: `kept`, `engine_error`, `empty`, `truncated` or `contradicts_answer`.
    Answers are read as verify reads them (`verify` is the spec's rule: its extractor and
    pattern), so an enrichment is never rejected for an answer verify would not see."""
    reasons = []
    for row in rows:
        if row.get("error"):
            reasons.append("engine_error")
        elif not (row.get("text") or "").strip():
            reasons.append("empty")
        elif row.get("finish_reason") == "length":
            reasons.append("truncated")
        else:
            reasons.append("kept")
    use, pattern = answer_reader(fmt, verify)
    # A pattern says where the answer is (no match: no vote); other extractors would pick any
    # number or letter out of an explanation, so only a text that states a final answer is checked.
    checkable = [
        i
        for i, (r, row) in enumerate(zip(reasons, rows, strict=True))
        if r == "kept" and (pattern is not None or any(m in row["text"].lower() for m in _FINAL_MARKERS))
    ]
    if checkable:
        from tsqa.curate.vote import majority_vote

        vote = majority_vote(
            [[rows[i]["text"]] for i in checkable],
            mode=use.mode,
            options=[rows[i]["options"] for i in checkable] if fmt == "multiple_choice" else None,
            references=[_reference(fmt, rows[i]) for i in checkable],
            pattern=pattern,
        )
        for i, votes, match in zip(checkable, vote.votes.tolist(), vote.matches_reference.to_pylist(), strict=True):
            if votes and match is False:
                reasons[i] = "contradicts_answer"
    return reasons


def _reader_inputs(spec: TaskSpec) -> dict[str, Any]:
    use, pattern = answer_reader(spec.format, spec.verify)
    return {"mode": use.mode, "pattern": pattern}


def _reference(fmt: str, row: dict[str, Any]) -> str:
    return LETTERS[row["answer_index"]] if fmt == "multiple_choice" else row["answer_text"]


class EnrichStage(ModelStageDef):
    stage = Stage.ENRICH
    reads = Stage.VERIFY
    schema = SCHEMAS["enrich"]

    def model_call(self, spec: TaskSpec) -> ModelCall:
        e = spec.enrich
        return ModelCall(
            role="enricher",
            model=e.model,
            prompt_stage="enrich",
            prompts={v: PromptSource(e.prompts.get(v, v), ("enrich", "prompts", v)) for v in e.variants},
            sampling=e.sampling,
            requests_per_row=len(e.variants),
        )

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {
            **ctx.model_inputs(self.stage),
            "variants": list(spec.enrich.variants),
            "sampling": spec.enrich.sampling.model_dump(mode="json"),
            "extraction": EXTRACTION_VERSION,  # check_enrichments extracts the final answer
            "reader": _reader_inputs(spec),  # ... with verify's extractor and pattern
        }

    def requests(self, task: TaskContext, call: ModelCallPlan, rows: pa.Table) -> tuple[list[Request], list[int]]:
        requests = enrich_requests(task.spec, call, rows_of(rows, "question_id"))
        per_row = len(call.prompts)
        return requests, [i // per_row for i in range(len(requests))]

    def collect(
        self, task: TaskContext, source: pa.Table, requests: Sequence[Request], results: Mapping[str, Result]
    ) -> Filtered:
        rows = source.to_pylist()
        checks = []
        for req, row in zip(requests, rows, strict=True):
            res = results[req.id]
            text = res.texts[0] if res.ok and res.texts else None
            row["variant"] = req.id.rsplit("/", 1)[1]
            row["enrichment"] = text
            checks.append(
                {
                    "text": text or "",
                    "error": res.error,
                    "finish_reason": res.finish_reasons[0] if res.finish_reasons else None,
                    "options": row["options"],
                    "answer_index": row["answer_index"],
                    "answer_text": row["answer_text"],
                }
            )
        reasons = check_enrichments(task.spec.format, checks, task.spec.verify)
        kept = [row for row, reason in zip(rows, reasons, strict=True) if reason == "kept"]
        dropped = [(req.id, reason, check) for req, reason, check in zip(requests, reasons, checks, strict=True)]
        dropped = [d for d in dropped if d[1] != "kept"]
        return Filtered(
            to_table("enrich", kept),
            rejects_from(
                [d[0] for d in dropped],
                [d[1] for d in dropped],
                [(d[2]["error"] or d[2]["text"])[:300] for d in dropped],
            ),
        )
