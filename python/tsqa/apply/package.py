"""The packaged dataset of a task: structured fields, a rendered `text` column ready for
pretraining, and provenance (seed, task, models, revisions, sampling, stage fingerprints)."""

from __future__ import annotations

import json
from typing import Any

from tsqa.compile.plan import TaskPlan
from tsqa.spec.models import TaskSpec, VoteVerify
from tsqa.spec.models.project import OpenAIModel, VllmModel
from tsqa.stages.enrich import render_text


def package_rows(
    spec: TaskSpec, plan: TaskPlan, models: dict[str, VllmModel | OpenAIModel], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    generator = models[spec.generate.model]
    enricher = models[spec.enrich.model]
    solver = models[spec.verify.model] if isinstance(spec.verify, VoteVerify) else None
    provenance = json.dumps(
        {
            "task": spec.task,
            "seed_source": spec.seed.model_dump(mode="json", exclude={"columns"}),
            "license": spec.seed.license,
            "generator": {
                "model": generator.model,
                "revision": generator.revision,
                "sampling": spec.generate.sampling.model_dump(mode="json"),
            },
            "solver": None
            if solver is None
            else {"model": solver.model, "revision": solver.revision, "samples": spec.verify.samples},  # type: ignore[union-attr]
            "enricher": {
                "model": enricher.model,
                "revision": enricher.revision,
                "sampling": spec.enrich.sampling.model_dump(mode="json"),
            },
            "fingerprints": {s.stage.value: s.fingerprint for s in plan.stages},
        },
        sort_keys=True,
    )
    out = []
    for row in rows:
        out.append(
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
                "provenance": provenance,
            }
        )
    return out
