"""normalise: seed documents → SeedRecords (question, options, answer, context) by the task's
lm-eval rules or the spec's `fields:`; a document that cannot be normalised is rejected with why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.seeds.normalise_columns import ColumnPlan, certain_rows, column_plan
from tsqa.seeds.normalise_columns import records as column_records
from tsqa.spec.models import LmEvalSeed, TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, StageDef, TaskContext
from tsqa.stages.schema import SCHEMAS, rejects_from


class NormaliseStage(StageDef):
    stage = Stage.NORMALISE
    reads = Stage.SEEDS
    schema = SCHEMAS["normalise"]

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        return {
            "format": spec.format,
            "fields": spec.fields.model_dump(mode="json"),
            "rules": ctx.catalog_version if isinstance(spec.seed, LmEvalSeed) else None,
        }

    def process(self, rows: pa.Table, task: TaskContext) -> Filtered:
        """The whole split at once (`tsqa.seeds.normalise.normalise`)."""
        from tsqa.seeds.normalise import normalise

        result = normalise(task.spec, _task_info(task.spec), rows)
        return _filtered(result.records, result.failures)

    def process_stream(self, shards: Iterator[pa.Table], task: TaskContext) -> Iterator[Filtered]:
        """Shard by shard, numbering seeds across shards exactly as `normalise` numbers the whole
        split (seed ids, and the option shuffle keyed on them, depend on the position). A task
        whose lm-eval rules have a `process_docs` (a function over the whole dataset) is
        normalised in one piece."""
        # The per-document steps of tsqa.seeds.normalise, driven with a running offset.
        from tsqa.seeds.normalise import DocError, _plan, _record
        from tsqa.seeds.record import NormaliseFailure

        spec = task.spec
        info = _task_info(spec)
        rules = info.rules if isinstance(spec.seed, LmEvalSeed) and info is not None else None
        if rules is not None and rules.process_docs:
            yield self.process(pa.concat_tables(list(shards), promote_options="default"), task)
            return
        plan = None
        columns: ColumnPlan | None = None
        offset = 0
        for shard in shards:
            if plan is None and shard.num_rows:
                plan = _plan(spec, info if rules is not None else None, frozenset(shard.column_names))
                columns = column_plan(spec.task, spec.format, plan)
            raws = _raw_texts(shard)
            certain = certain_rows(columns, shard, raws)
            # The rest one document at a time: its record, or why it has none.
            rest = np.flatnonzero(~certain)
            docs = shard.take(pa.array(rest)).to_pylist() if len(rest) < shard.num_rows else shard.to_pylist()
            rest_raws = raws.take(pa.array(rest)).to_pylist() if raws is not None else [None] * len(rest)
            records, failures, kept_rows = [], [], []
            for row, doc, raw in zip(rest.tolist(), docs, rest_raws, strict=True):
                seed_id = f"{spec.task}:{offset + row}"
                try:
                    records.append(_record(spec, plan, seed_id, doc, raw=raw))  # type: ignore[arg-type]
                    kept_rows.append(row)
                except DocError as err:
                    failures.append(NormaliseFailure(seed_id, str(err)))
                except Exception as err:  # noqa: BLE001 - a task function or template failing on one doc
                    failures.append(NormaliseFailure(seed_id, f"{type(err).__name__}: {err}"))
            out = _filtered(records, failures)
            if columns is not None and raws is not None and certain.any():
                fast = column_records(columns, shard, raws, certain, offset)
                out = Filtered(_in_row_order(fast, np.flatnonzero(certain), out.kept, kept_rows), out.rejects)
            offset += shard.num_rows
            yield out


def _in_row_order(first: pa.Table, first_rows: Any, second: pa.Table, second_rows: list[int]) -> pa.Table:
    """Two tables of one shard's records (`*_rows`: each record's row), merged in row order."""
    if not second.num_rows:
        return first
    order = np.argsort(np.concatenate([first_rows, np.asarray(second_rows, np.int64)]), kind="stable")
    return pa.concat_tables([first, second]).take(pa.array(order))


def _raw_texts(shard: pa.Table) -> pa.Array | None:
    """Each document's `raw` JSON, written by the Rust core for the whole shard (what
    `json.dumps(doc, ensure_ascii=False, default=str)` gives, at a fraction of its cost); None
    where a column's type is not plain JSON (`_record` then writes it in Python)."""
    from tsqa import _native

    if not shard.num_columns:
        return None
    try:
        return _native.rows_as_json(shard.to_struct_array())
    except _native.NativeError:  # chunks the core does not import (an empty slice past its start)
        return None


def _task_info(spec: TaskSpec) -> Any:
    from tsqa.seeds.catalog import load_catalog

    return load_catalog().get(spec.seed.lm_eval) if isinstance(spec.seed, LmEvalSeed) else None


def _filtered(records: list[Any], failures: list[Any]) -> Filtered:
    # Column by column from the records (no dict per row).
    schema = SCHEMAS["normalise"]
    columns = {
        "seed_id": [r.seed_id for r in records],
        "question": [r.question for r in records],
        "options": [list(r.options) if r.options else None for r in records],
        "answer_text": [r.answer_text for r in records],
        "answer_index": [r.answer_index for r in records],
        "answer_aliases": [list(r.answer_aliases) if r.answer_aliases else None for r in records],
        "context": [r.context for r in records],
        "raw": [r.raw for r in records],
    }
    kept = pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in schema], schema=schema)
    return Filtered(
        kept,
        rejects_from(
            [f.seed_id for f in failures], ["unnormalisable"] * len(failures), [f.reason[:300] for f in failures]
        ),
    )
