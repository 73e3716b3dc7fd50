"""What a spec's field templates build from each seed row, for the content check.

An eval question can be assembled by a template from columns that look harmless one by one (its
words split over three columns, stored out of order): the row's own fields match nothing, the
question the model would see is the eval question. Every seed read that compares rows with eval
records (fetch, plan's sample, apply's seed stage) compares these rendered texts too.
"""

from __future__ import annotations

import pyarrow as pa

from tsqa.seeds.catalog import Catalog
from tsqa.seeds.errors import SeedError
from tsqa.seeds.record import SeedRecord
from tsqa.spec.models import LmEvalSeed, TaskSpec


def rendered_texts(spec: TaskSpec, catalog: Catalog, table: pa.Table, start: int = 0) -> list[list[str]] | None:
    """Per row, what the spec's field templates build from it (the question; question, options
    and answer together): an eval question assembled by a template from harmless-looking columns
    is still an eval question. None when the fields cannot be compiled or process_docs fails
    (lint and normalise report that). `start`: the position
    of the table's first row in its split, so each row renders as apply's normalise renders it."""
    from tsqa.seeds.normalise import normalise

    info = catalog.get(spec.seed.lm_eval) if isinstance(spec.seed, LmEvalSeed) else None
    try:
        # Every row rendered, as apply's normalise stage renders them: no giving up after a few
        # rows over the render bounds (three such rows first would hide every row after them).
        result = normalise(spec, info, table, first_index=start, give_up_bounded=False)
        if len(result.records) + len(result.failures) != table.num_rows:
            # process_docs dropped rows, so positions no longer map: row by row (each row's
            # record is its own), slower but only for such batches.
            out: list[list[str]] = []
            for i in range(table.num_rows):
                one = normalise(spec, info, table.slice(i, 1), first_index=start + i, give_up_bounded=False)
                out.append(_texts(one.records[0]) if one.records else [])
            return out
    except SeedError:
        return None
    out = [[] for _ in range(table.num_rows)]
    for record in result.records:
        out[int(record.seed_id.rsplit(":", 1)[1]) - start] = _texts(record)
    return out


def _texts(record: SeedRecord) -> list[str]:
    options = list(record.options or ())
    whole = " ".join([record.question, *options, record.answer_text or ""])
    # Every rendered field on its own too: an eval question can be built in the context, an
    # option or the answer as well as in the question.
    each = [record.context or "", *options, record.answer_text or "", *(record.answer_aliases or ())]
    return [record.question, whole, *(t for t in each if t), " ".join([record.context or "", whole])]
