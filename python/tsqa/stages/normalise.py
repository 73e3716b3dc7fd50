"""normalise: seed documents → SeedRecords (question, options, answer, context) by the task's
lm-eval rules or the spec's `fields:`; a document that cannot be normalised is rejected with why."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.models import LmEvalSeed, TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.schema import SCHEMAS, rejects_from, to_table


class NormaliseStage(StageDef):
    stage = Stage.NORMALISE
    reads = Stage.SEEDS
    schema = SCHEMAS["normalise"]
    streams = False  # seed ids number the documents of the whole split

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {
            "format": spec.format,
            "fields": spec.fields.model_dump(mode="json"),
            "rules": ctx.catalog_version if isinstance(spec.seed, LmEvalSeed) else None,
        }

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        from tsqa.seeds.catalog import load_catalog
        from tsqa.seeds.normalise import normalise

        spec = task.spec
        info = load_catalog().get(spec.seed.lm_eval) if isinstance(spec.seed, LmEvalSeed) else None
        result = normalise(spec, info, rows)
        kept = to_table(
            "normalise",
            [
                {
                    "seed_id": r.seed_id,
                    "question": r.question,
                    "options": list(r.options) if r.options else None,
                    "answer_text": r.answer_text,
                    "answer_index": r.answer_index,
                    "answer_aliases": list(r.answer_aliases) if r.answer_aliases else None,
                    "context": r.context,
                    "raw": r.raw,
                }
                for r in result.records
            ],
        )
        failures = result.failures
        return Filtered(
            kept,
            rejects_from(
                [f.seed_id for f in failures], ["unnormalisable"] * len(failures), [f.reason[:300] for f in failures]
            ),
        )
