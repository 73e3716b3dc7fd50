"""What a spec's field templates build from each seed row, for the content check.

An eval question can be assembled by a template from columns that look harmless one by one (its
words split over three columns, stored out of order): the row's own fields match nothing, the
question the model would see is the eval question. Every seed read that compares rows with eval
records (fetch, plan's sample, apply's seed stage) compares these rendered texts too.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from tsqa.seeds.catalog import Catalog, load_catalog
from tsqa.seeds.errors import SeedError
from tsqa.seeds.model import TaskInfo
from tsqa.seeds.normalise import normalise
from tsqa.seeds.record import SeedRecord
from tsqa.spec.models import LmEvalSeed, TaskSpec


def rendered_texts(spec: TaskSpec, catalog: Catalog, table: pa.Table, start: int = 0) -> list[list[str]] | None:
    """Per row, what the spec's field templates build from it (the question; question, options
    and answer together): an eval question assembled by a template from harmless-looking columns
    is still an eval question. None when no row renders (the fields do not compile, process_docs
    fails on every row: lint and normalise report that). `start`: the position of the table's
    first row in its split, so each row renders as apply's normalise renders it."""
    info = catalog.get(spec.seed.lm_eval) if isinstance(spec.seed, LmEvalSeed) else None
    try:
        # Every row rendered, as apply's normalise stage renders them: no giving up after a few
        # rows over the render bounds (three such rows first would hide every row after them).
        result = normalise(spec, info, table, first_index=start, give_up_bounded=False, track_rows=True)
    except SeedError:  # process_docs failed on the batch: row by row, so one row cannot hide the rest
        return _row_by_row(spec, info, table, start)
    out: list[list[str]] = [[] for _ in range(table.num_rows)]
    sources = result.source_rows
    if sources is None:  # no process_docs: document i is row i
        for record in result.records:
            out[_position(record) - start] += _texts(record)
        return out
    if all(row is not None and 0 <= row < table.num_rows for row in sources):
        # process_docs dropped, added or reordered documents: each goes to the row it came from
        for record in result.records:
            out[sources[_position(record) - start]] += _texts(record)  # type: ignore[index]
        return out
    return _row_by_row(spec, info, table, start)  # positions lost in process_docs (it rebuilt its rows)


def _row_by_row(spec: TaskSpec, info: TaskInfo | None, table: pa.Table, start: int) -> list[list[str]] | None:
    """Every document of each row, normalised one row at a time (slow: only where a batch's
    documents cannot be traced to their rows). A row that fails alone renders nothing (apply's
    normalise fails on it too); None when no row renders (the fields do not compile)."""
    out: list[list[str]] = []
    failed = 0
    for i in range(table.num_rows):
        try:
            one = normalise(spec, info, table.slice(i, 1), first_index=start + i, give_up_bounded=False)
        except SeedError:
            failed += 1
            out.append([])
            continue
        out.append([text for record in one.records for text in _texts(record)])
    return None if failed == table.num_rows else out


def _position(record: SeedRecord) -> int:
    return int(record.seed_id.rsplit(":", 1)[1])


def _texts(record: SeedRecord) -> list[str]:
    options = list(record.options or ())
    whole = " ".join([record.question, *options, record.answer_text or ""])
    # Every rendered field on its own too: an eval question can be built in the context, an
    # option or the answer as well as in the question.
    each = [record.context or "", *options, record.answer_text or "", *(record.answer_aliases or ())]
    return [record.question, whole, *(t for t in each if t), " ".join([record.context or "", whole])]


def render_fingerprint(spec: TaskSpec) -> str:
    """What `rendered_texts` depends on: the spec's fields, format and task name (the seed ids),
    and for an lm-eval seed its catalogue entry (field rules, process_docs, output type) and the
    lm-eval version the catalogue describes. A fetch's verdict on rendered texts holds while it is
    equal. The full digest: an author who writes both templates must not find two that collide."""
    parts: dict[str, object] = {
        "task": spec.task,
        "format": spec.format,
        "fields": spec.fields.model_dump(mode="json"),
    }
    if isinstance(spec.seed, LmEvalSeed):
        catalog = load_catalog()
        info = catalog.get(spec.seed.lm_eval)
        parts["lm_eval"] = [spec.seed.lm_eval, catalog.lm_eval_version, info.to_json() if info else None]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
