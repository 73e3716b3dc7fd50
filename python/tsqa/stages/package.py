"""package: the task's dataset — structured fields, a rendered `text` column ready for
pretraining, and provenance (seed, task, each model stage's model, revision and sampling, stage
fingerprints). Written to the stage folder and to datasets/<task>/."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from tsqa.compile.plan import TaskPlan
from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.enrich import render_text
from tsqa.stages.schema import SCHEMAS, to_table


class PackageStage(StageDef):
    stage = Stage.PACKAGE
    reads = Stage.DECONTAMINATE
    schema = SCHEMAS["package"]
    exports_dataset = True

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {"license": spec.seed.license, "group": spec.group}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        return Filtered(to_table("package", package_rows(task.spec, task.plan, rows.to_pylist())))


def provenance(spec: TaskSpec, plan: TaskPlan) -> str:
    from tsqa.stages.registry import REGISTRY

    record: dict[str, Any] = {
        "task": spec.task,
        "seed_source": spec.seed.model_dump(mode="json", exclude={"columns"}),
        "license": spec.seed.license,
        "fingerprints": {s.stage.value: s.fingerprint for s in plan.stages},
    }
    for sdef in REGISTRY:
        declared = sdef.model_call(spec)
        if declared is None:
            continue
        call = plan.stage(sdef.stage).call
        record[declared.role] = (
            None
            if call is None
            else {
                "model": call.identity["model"],
                "revision": call.identity["revision"],
                "sampling": call.sampling,
                "samples": call.samples,
            }
        )
    return json.dumps(record, sort_keys=True)


def package_rows(spec: TaskSpec, plan: TaskPlan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    record = provenance(spec, plan)
    return [
        {
            "id": f"{spec.task}/{row['question_id']}/{row['variant']}",
            "task": spec.task,
            "group": plan.group,
            "format": spec.format,
            "variant": row["variant"],
            "seed_id": row["seed_id"],
            "question_id": row["question_id"],
            "question": row["question"],
            "options": row.get("options"),
            "answer_index": row.get("answer_index"),
            "answer_text": row["answer_text"],
            "context": row.get("context"),
            "enrichment": row.get("enrichment"),
            "agreement": row.get("agreement"),
            "votes": row.get("votes"),
            "samples": row.get("total"),
            "text": render_text(row),
            "license": spec.seed.license,
            "provenance": record,
        }
        for row in rows
    ]
