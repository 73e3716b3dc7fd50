"""Exact dedup: normalisation, field tuples, adversarial records, bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tsqa.curate import ColumnTypeError, InputError, NullValueError, exact_dedup


@pytest.mark.parametrize(
    ("texts", "normalize", "first"),
    [
        (["Hello, World!", "hello world", "HELLO\tWORLD?!", "hello worlds"], True, [0, 0, 0, 3]),
        (["Hello, World!", "hello world"], False, [0, 1]),
        (["", "", " ", "?"], True, [0, 0, 0, 0]),
        (["", "", " "], False, [0, 0, 2]),
        (["ＡＢＣ", "abc", "ÅB", "åb"], True, [0, 0, 2, 2]),
        (["x 1", "x 2", "x 1.0"], True, [0, 1, 2]),
        (["a", "b", "a", "b", "a"], False, [0, 1, 0, 1, 0]),
    ],
)
def test_keep_first(texts: list[str], normalize: bool, first: list[int]) -> None:
    r = exact_dedup(texts, normalize=normalize)
    assert r.first_index.tolist() == first
    assert r.is_duplicate.tolist() == [f != i for i, f in enumerate(first)]


def test_digits_can_be_dropped() -> None:
    assert exact_dedup(["x 1", "x 2"], keep_digits=False).first_index.tolist() == [0, 0]


def test_huge_and_unicode_records() -> None:
    huge = "lorem ipsum " * 500_000
    r = exact_dedup([huge, huge + "!", huge + "x", "💥" * 1000, "💥" * 1000])
    assert r.first_index.tolist() == [0, 0, 2, 3, 3]
    assert r.hash.shape == (5, 2) and r.hash.dtype == np.uint64


def test_struct_of_fields_is_length_prefixed() -> None:
    t = pa.table({"q": ["ab", "a", "ab", "ab"], "a": ["c", "bc", "c", "d"]})
    r = exact_dedup(t, columns=["q", "a"], normalize=False)
    assert r.first_index.tolist() == [0, 1, 0, 3]
    assert exact_dedup(t, columns="q").first_index.tolist() == [0, 1, 0, 0]


def test_many_records_match_python() -> None:
    rng = np.random.default_rng(0)
    texts = [f"item {int(x)}" for x in rng.integers(0, 5000, 50_000)]
    seen: dict[str, int] = {}
    want = [seen.setdefault(t, i) for i, t in enumerate(texts)]
    assert exact_dedup(pa.array(texts), normalize=False, threads=2).first_index.tolist() == want


def test_bad_input() -> None:
    with pytest.raises(NullValueError, match="row 1"):
        exact_dedup(pa.array(["a", None]))
    with pytest.raises(ColumnTypeError):
        exact_dedup(pa.array([1.5]))
    with pytest.raises(InputError, match="columns="):
        exact_dedup(pa.table({"q": ["a"]}))
    with pytest.raises(InputError, match="no column 'x'"):
        exact_dedup(pa.table({"q": ["a"]}), columns=["q", "x"])
