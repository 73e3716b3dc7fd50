"""The report finds each generated question's first packaged row from hashed keys, shard by shard:
the same rows a plain first-occurrence scan of the keys finds, wherever the shards are cut and
whether or not a question's rows are next to each other."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsqa.report.build import _first_rows

KEYS = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "bench:0.0", ""]))


def _reference(question_ids: list[str | None], ids: list[str | None]) -> list[int]:
    seen: set[str] = set()
    firsts = []
    for row, (q, i) in enumerate(zip(question_ids, ids)):
        key = q if q is not None else i if i is not None else f"\x00{row}"
        if key not in seen:
            seen.add(key)
            firsts.append(row)
    return firsts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(KEYS, KEYS), min_size=1, max_size=30), cuts=st.lists(st.integers(1, 29), max_size=4))
def test_first_rows_match_a_first_occurrence_scan(tmp_path_factory, rows, cuts) -> None:  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("shards")
    question_ids, ids = [r[0] for r in rows], [r[1] for r in rows]
    bounds = [0, *sorted({c for c in cuts if c < len(rows)}), len(rows)]
    files = []
    for n, (a, b) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"part-{n:05d}.parquet"
        pq.write_table(
            pa.table({"question_id": pa.array(question_ids[a:b], pa.string()), "id": pa.array(ids[a:b], pa.string())}),
            path,
        )
        files.append(path)
    assert _first_rows(files).tolist() == _reference(question_ids, ids)
