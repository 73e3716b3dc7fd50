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
from tsqa.stages.packaged_text import render_texts
from tsqa.stages.schema import SCHEMAS


class PackageStage(StageDef):
    stage = Stage.PACKAGE
    reads = Stage.DECONTAMINATE
    schema = SCHEMAS["package"]
    exports_dataset = True
    shard_compression = "zstd"  # the packaged dataset users read and ship

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {"license": spec.seed.license, "group": spec.group}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        return Filtered(package_table(task.spec, task.plan, rows))


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
                "samples": call.samples * call.requests_per_row,  # per question (solve: one request per option order)
            }
        )
    return json.dumps(record, sort_keys=True)


def package_table(spec: TaskSpec, plan: TaskPlan, rows: pa.Table) -> pa.Table:
    """The packaged rows of a shard of decontaminated rows, column by column."""
    import numpy as np
    import pyarrow.compute as pc

    n = rows.num_rows

    def same(value: object, kind: pa.DataType) -> pa.Array:
        return pa.array([value] * n, kind)

    columns = {
        "id": pc.binary_join_element_wise(
            same(spec.task, pa.string()), rows.column("question_id"), rows.column("variant"), "/"
        ),
        "task": same(spec.task, pa.string()),
        "group": same(plan.group, pa.string()),
        "format": same(spec.format, pa.string()),
        "samples": rows.column("total"),
        # Decontamination rendered it (shards of earlier runs may lack it).
        "text": rows.column("text")
        if "text" in rows.column_names and not rows.column("text").null_count
        else render_texts(rows),
        "license": same(spec.seed.license, pa.string()),
        "provenance": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, np.int32)), pa.array([provenance(spec, plan)], pa.string())
        ),
    }
    schema = SCHEMAS["package"]
    return pa.Table.from_arrays(
        [(columns[f.name] if f.name in columns else rows.column(f.name)).cast(f.type) for f in schema], schema=schema
    )
