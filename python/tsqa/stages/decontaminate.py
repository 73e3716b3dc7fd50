"""Remove rows whose text overlaps eval data: n-gram overlap (Rust core) against every eval split
in the eval store (`tsqa seeds fetch-eval`) and the eval files a spec declares. Flagged rows are
listed in the stage's rejects with the eval records they overlap."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.compile.stages import Stage
from tsqa.spec.load import LoadedSpec
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, StageError, TaskContext
from tsqa.stages.packaged_text import render_texts
from tsqa.stages.schema import SCHEMAS, rejects_from

EvalSources = tuple[tuple[str, float], ...]
"""(path, mtime) of every eval file: the cache key of the index built from them."""


class EvalFileError(StageError):
    pass


class DecontaminateStage(StageDef):
    stage = Stage.DECONTAMINATE
    reads = Stage.DEDUP
    schema = SCHEMAS["decontaminate"]
    keep_rate = True
    keeps_rows = False  # package reads them in the same pass

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # eval_data: content hashes of the eval store's splits and the spec's eval files.
        return {**spec.decontaminate.model_dump(mode="json"), "eval_data": ctx.eval_data}

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        from tsqa.seeds.eval_store import EvalStore

        store = EvalStore.for_project(task.project.path, task.project.project).splits()
        return decontaminate(task.loaded, rows, eval_sources(task.loaded, store))


def eval_sources(loaded: LoadedSpec, store_files: list[Path]) -> EvalSources:
    declared = [(loaded.path.parent / f).resolve() for f in loaded.spec.decontaminate.eval_files]
    for path in declared:
        if not path.is_file():
            raise EvalFileError(f"{loaded.path}: decontaminate.eval_files: {path} does not exist")
    return tuple((str(p), p.stat().st_mtime) for p in sorted({*declared, *store_files}))


def decontaminate(loaded: LoadedSpec, rows: pa.Table, sources: EvalSources) -> Filtered:
    """Rows whose packaged text shares at least `min_overlap` n-grams with any eval record are
    rejected, naming (up to 5 of) those records."""
    settings = loaded.spec.decontaminate
    rows = _with_text(rows)
    if not settings.enabled or not sources or not rows.num_rows:
        return Filtered(rows)
    import numpy as np

    from tsqa.curate.contamination import contamination

    ids, index = _index(sources, settings.ngram)
    result = contamination(rows.column("text"), index)
    flagged = np.asarray(result.count) >= settings.min_overlap
    if not flagged.any():  # no copy of the rows when none goes
        return Filtered(rows)
    hit = pa.array(np.flatnonzero(flagged))
    gone = rows.take(hit)
    counts = np.asarray(result.count)[flagged].tolist()
    hits = result.ids.take(hit).to_pylist()
    return Filtered(
        rows.filter(pa.array(~flagged)),
        rejects_from(
            [
                f"{q}/{v}"
                for q, v in zip(gone.column("question_id").to_pylist(), gone.column("variant").to_pylist(), strict=True)
            ],
            ["contaminated"] * len(counts),
            [
                f"{count} shared {settings.ngram}-grams with eval records {[ids[i] for i in matched[:5]]}"
                for count, matched in zip(counts, hits, strict=True)
            ],
        ),
    )


def _with_text(rows: pa.Table) -> pa.Table:
    """The rows with their packaged text (SCHEMAS["decontaminate"])."""
    schema = SCHEMAS["decontaminate"]
    text = render_texts(rows)
    return pa.Table.from_arrays(
        [text if f.name == "text" else rows.column(f.name).cast(f.type) for f in schema], schema=schema
    )


@lru_cache(maxsize=16)
def _index(sources: EvalSources, ngram: int) -> tuple[list[str], Any]:
    from tsqa.curate.contamination import build_contamination_index

    ids: list[str] = []
    texts: list[str] = []
    for path, _ in sources:
        file_ids, file_texts = _eval_records(Path(path))
        ids += file_ids
        texts += file_texts
    return ids, build_contamination_index(texts, ids=list(range(len(texts))), n=ngram)


def _eval_records(path: Path) -> tuple[list[str], list[str]]:
    """Eval-store files carry (id, text); other files: every string field of a record, joined."""
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            if {"id", "text"} <= set(table.column_names) and table.num_columns == 2:
                return table.column("id").to_pylist(), table.column("text").to_pylist()
            records = table.to_pylist()
        else:
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise EvalFileError(f"{path}: unreadable eval file ({exc})") from None
    return [f"{path.name}:{i}" for i in range(len(records))], [" ".join(_strings(r)) for r in records]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
