"""Contamination index: overlap counts and ids, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tsqa.curate import (
    IndexFormatError,
    IndexMismatchError,
    NgramIndex,
    NullValueError,
    ParameterError,
    build_contamination_index,
    contamination,
)

EVAL = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
    "Short item",
]


def test_overlap_counts_and_ids(tmp_path) -> None:
    idx = build_contamination_index(EVAL, ids=[11, 22, 33])
    assert len(idx) == 3 and idx.n == 13
    queries = [
        "Q: natalia sold clips to 48 of her friends in april, and then she sold half as many clips in may. A: 72",
        "Weng earns $13 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
        "completely fresh question about the moons of jupiter and their orbits around it in detail",
        "short item",
        "",
    ]
    r = contamination(queries, idx)
    assert r.count[0] == 8  # 20 words of the eval item in order → 20 - 13 + 1 grams
    assert r.count[1] == 0  # one changed number breaks every 13-gram of a 16-word text
    assert r.ids.to_pylist() == [[11], [], [], [33], []]
    assert r.contaminated.tolist() == [True, False, False, True, False]
    path = tmp_path / "eval.ngx"
    idx.save(path)
    back = NgramIndex.load(path, n=13)
    assert np.array_equal(contamination(queries, back).count, r.count)
    with pytest.raises(IndexMismatchError, match="n=13 but n=8"):
        NgramIndex.load(path, n=8)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IndexFormatError):
        NgramIndex.load(path)


def test_small_n_and_table_input() -> None:
    t = pa.table({"q": ["a b c d", "x y z"]})
    idx = build_contamination_index(t, column="q", n=2)
    r = contamination(pa.table({"gen": ["A B, C!", "y z w", "c d x y"]}), idx, column="gen")
    assert r.count.tolist() == [2, 1, 2]
    assert r.ids.to_pylist() == [[0], [1], [0, 1]]


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="n=0"):
        build_contamination_index(["a"], n=0)
    with pytest.raises(NullValueError):
        build_contamination_index(pa.array(["a", None]))
    with pytest.raises(ParameterError, match="non-negative"):
        build_contamination_index(["a"], ids=[-1])
