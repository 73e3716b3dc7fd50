"""Small shards are joined into batches of at least BATCH_ROWS rows, in order, without losing or
repeating a row (a streaming stage's fixed cost per batch is not paid per model chunk)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tsqa.store.shards import coalesced


@settings(deadline=None)
@given(st.lists(st.integers(0, 30), max_size=12), st.integers(1, 40))
def test_batches_hold_every_row_once_in_order(sizes: list[int], min_rows: int) -> None:
    start, tables = 0, []
    for n in sizes:
        tables.append(pa.table({"row": pa.array(range(start, start + n), pa.int64())}))
        start += n
    batches = list(coalesced(iter(tables), min_rows))
    assert [r for b in batches for r in b.column("row").to_pylist()] == list(range(start))
    assert all(b.num_rows >= min_rows for b in batches[:-1])
    assert len(batches) <= len(tables) and (not tables or batches)  # the last one, even empty, is kept
