"""seeds: the task's training rows, as the source has them (columns kept; no schema).

Read from the seed store when fetched, else straight from local files (or a local dataset copy);
never an eval split: the seeds loader's guard refuses it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, Kind, StageDef, StageError, TaskContext


class SeedsStage(StageDef):
    stage = Stage.SEEDS
    kind = Kind.SOURCE

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # The license and the lint-only column list change no row.
        return {"seed": spec.seed.model_dump(mode="json", exclude={"license", "columns"}), "snapshot": ctx.snapshot}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        return Filtered(read_seed_table(task.loaded, task.project))


def read_seed_table(loaded: LoadedSpec, project: LoadedProject) -> pa.Table:
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.load import read_split
    from tsqa.seeds.source import resolve_seed
    from tsqa.seeds.store import SeedStore

    spec = loaded.spec
    store = SeedStore.for_project(project.path, project.project)
    try:
        if store.meta(spec) is not None:
            return store.read(spec)
        catalog = load_catalog()
        return read_split(
            resolve_seed(spec, catalog), spec_dir=loaded.path.parent, catalog=catalog, limit=spec.seed.limit, spec=spec
        )
    except SeedError as exc:
        raise StageError(f"task {spec.task!r}: {exc}") from None
