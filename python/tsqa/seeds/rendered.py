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
from tsqa.spec.models import LmEvalSeed, TaskSpec


def rendered_texts(spec: TaskSpec, catalog: Catalog, table: pa.Table, start: int = 0) -> list[list[str]] | None:
    """Per row, what the spec's field templates build from it (the question; question, options
    and answer together): an eval question assembled by a template from harmless-looking columns
    is still an eval question. None when the rows cannot be mapped back (process_docs dropped
    some) or the fields cannot be compiled (lint and normalise report that). `start`: the position
    of the table's first row in its split, so each row renders as apply's normalise renders it."""
    from tsqa.seeds.normalise import normalise

    info = catalog.get(spec.seed.lm_eval) if isinstance(spec.seed, LmEvalSeed) else None
    try:
        result = normalise(spec, info, table, first_index=start)
    except SeedError:
        return None
    if len(result.records) + len(result.failures) != table.num_rows:
        return None
    out: list[list[str]] = [[] for _ in range(table.num_rows)]
    for record in result.records:
        i = int(record.seed_id.rsplit(":", 1)[1]) - start
        options = list(record.options or ())
        whole = " ".join([record.question, *options, record.answer_text or ""])
        # Every rendered field on its own too: an eval question can be built in the context, an
        # option or the answer as well as in the question.
        each = [record.context or "", *options, record.answer_text or "", *(record.answer_aliases or ())]
        out[i] = [record.question, whole, *(t for t in each if t), " ".join([record.context or "", whole])]
    return out
