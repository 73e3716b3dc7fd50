"""Near-dup: statistical accuracy, determinism, input types, index persistence, bad input."""

from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa
import pytest

from tsqa import _native
from tsqa.curate import (
    ColumnTypeError,
    IndexFormatError,
    IndexMismatchError,
    InputError,
    MinHashIndex,
    NativeError,
    NullValueError,
    ParameterError,
    band_keys,
    build_index,
    choose_bands,
    minhash_signatures,
    near_dedup,
)
from tsqa.curate.neardup import Kernel

RNG = random.Random(1234)
VOCAB = [f"w{i}" for i in range(50_000)]


def words(n: int) -> list[str]:
    return RNG.sample(VOCAB, n)


@pytest.mark.parametrize("shared", [0, 20, 60, 100, 150, 200])
def test_minhash_estimate_tracks_exact_jaccard(shared: int) -> None:
    # Word 1-grams of distinct words: |A∩B| = shared, |A∪B| = 400 - shared.
    base = words(400)
    a = base[:200]
    b = base[:shared] + base[200 : 400 - shared]
    exact = shared / (400 - shared)
    sig = minhash_signatures([" ".join(a), " ".join(b)], ngram=1, num_perm=256, seed=9)
    est = float((sig[0] == sig[1]).mean())
    tol = 4 * math.sqrt(exact * (1 - exact) / 256) + 0.01
    assert abs(est - exact) <= tol, (est, exact)


def corpus(n: int = 3000) -> list[str]:
    docs = [" ".join(words(60)) for _ in range(n)]
    for i in range(0, n, 10):  # plant near-duplicates: 1 of 60 words substituted, J(3-grams) = 55/61
        w = docs[i].split()
        w[30] = "changed"
        docs[i + 1] = " ".join(w)
    return docs


def test_planted_duplicates_are_found_and_representative_is_lowest_row() -> None:
    docs = corpus()
    r = near_dedup(docs, ngram=3)
    planted = np.arange(1, len(docs), 10)
    assert r.is_duplicate[planted].all()
    assert (r.duplicate_of[planted] == planted - 1).all()
    assert r.is_duplicate.sum() == len(planted)
    assert (r.cluster_size[planted] == 2).all()
    assert r.stats["bands"] == 18 and r.stats["rows"] == 7


def test_verification_rejects_pairs_below_threshold() -> None:
    a = " ".join(words(30))
    w = a.split()
    w[10] = "x"  # J of word 3-grams = 25/31 ≈ 0.81
    b = " ".join(w)
    assert near_dedup([a, b], ngram=3, threshold=0.8).is_duplicate.tolist() == [False, True]
    assert near_dedup([a, b], ngram=3, threshold=0.85).is_duplicate.tolist() == [False, False]


@pytest.mark.parametrize("kernel", ["scalar", "avx2", "avx512"])
def test_identical_across_threads_and_kernels(kernel: Kernel) -> None:
    if kernel == "avx512" and _native.DETECTED_KERNEL != "avx512":
        pytest.skip("CPU lacks AVX-512")
    if kernel == "avx2" and _native.DETECTED_KERNEL == "scalar":
        pytest.skip("CPU lacks AVX2")
    docs = corpus(6000)
    ref_sig = minhash_signatures(docs, threads=1, kernel="scalar")
    ref = near_dedup(docs, threads=1, kernel="scalar")
    for threads in (1, 2, 3):
        assert np.array_equal(minhash_signatures(docs, threads=threads, kernel=kernel), ref_sig)
        got = near_dedup(docs, threads=threads, kernel=kernel)
        assert np.array_equal(got.cluster_id, ref.cluster_id)
        assert np.array_equal(got.duplicate_of, ref.duplicate_of)


def test_signature_is_pinned_across_machines() -> None:
    # Changing the hash definitions must bump ALGORITHM_VERSION; this guards against accidents.
    sig = minhash_signatures(["the quick brown fox jumps over the lazy dog"], num_perm=4, seed=1, kernel="scalar")
    again = minhash_signatures(["The quick brown fox jumps over the lazy dog!"], num_perm=4, seed=1)
    assert np.array_equal(sig, again)
    assert sig.dtype == np.uint32 and _native.ALGORITHM_VERSION == 1


def test_arrow_input_types_agree() -> None:
    docs = corpus(500)
    ref = near_dedup(docs).cluster_id
    arr = pa.array(docs)
    inputs = [
        arr,
        arr.cast(pa.large_string()),
        arr.cast(pa.string_view()),
        pa.chunked_array([arr[:123], arr[123:400], arr[400:]]),
        pa.table({"text": arr}),
    ]
    for x in inputs:
        got = near_dedup(x, column="text" if isinstance(x, pa.Table) else None).cluster_id
        assert np.array_equal(got, ref)
    assert near_dedup(arr.slice(10, 20)).cluster_id.shape == (20,)


def test_empty_and_punctuation_only_records_never_merge() -> None:
    r = near_dedup(["", "", "?!", "   ", "a b c d e f", "A B C D E F"])
    assert r.duplicate_of.tolist() == [-1, -1, -1, -1, -1, 4]
    assert near_dedup([]).cluster_id.shape == (0,)


def test_scores_choose_representative() -> None:
    a = " ".join(words(40))
    docs = [a, a + " end", a + " fin"]
    r = near_dedup(docs, ngram=3, scores=[0.1, 0.9, 0.9])
    assert r.cluster_id.tolist() == [1, 1, 1]
    assert r.duplicate_of.tolist() == [1, -1, 1]


def test_one_giant_bucket_yields_linear_edges() -> None:
    r = near_dedup(["same question, same answer"] * 10_000 + ["other"])
    assert r.stats["candidate_pairs"] == 9_999
    assert r.is_duplicate.sum() == 9_999 and r.cluster_size[0] == 10_000


def test_index_round_trip_and_cross_corpus_matching(tmp_path) -> None:
    seeds = corpus(200)
    idx = build_index(seeds, ids=np.arange(1000, 1200), ngram=3)
    path = tmp_path / "seeds.mhx"
    idx.save(path)
    back = MinHashIndex.load(path, ngram=3, threshold=0.8)
    assert len(back) == 200 and back.params == idx.params
    new = [seeds[17] + "!", " ".join(words(60)), seeds[3].upper()]
    r = near_dedup(new, ngram=3, index=back)
    assert r.index_match.tolist() == [1017, -1, 1003]
    assert r.is_duplicate.tolist() == [True, False, True]
    assert back.add(pa.array(["", "more text for the index here"])) == 1
    assert len(back) == 201


def test_index_refuses_mismatched_params(tmp_path) -> None:
    idx = build_index(["a b c d e f g"], ngram=3, seed=5)
    path = tmp_path / "i.mhx"
    idx.save(path)
    with pytest.raises(IndexMismatchError, match="seed=5 but seed=6"):
        MinHashIndex.load(path, seed=6)
    with pytest.raises(IndexMismatchError, match="ngram"):
        near_dedup(["x"], index=MinHashIndex.load(path), ngram=5, seed=5)
    with pytest.raises(IndexMismatchError, match="bands"):
        MinHashIndex.load(path, threshold=0.5)
    raw = path.read_bytes()
    path.write_bytes(raw[:-1])
    with pytest.raises(IndexFormatError, match="truncated"):
        MinHashIndex.load(path)
    path.write_bytes(raw[:-8] + bytes(8))
    with pytest.raises(IndexFormatError, match="checksum"):
        MinHashIndex.load(path)
    path.write_bytes(b"garbage")
    with pytest.raises(IndexFormatError):
        MinHashIndex.load(path)
    with pytest.raises(OSError, match="missing"):
        MinHashIndex.load(tmp_path / "missing.mhx")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0.0}, "threshold=0"),
        ({"threshold": 1.5}, "threshold=1.5"),
        ({"threshold": float("nan")}, "threshold=NaN"),
        ({"num_perm": 0}, "num_perm=0"),
        ({"ngram": 0}, "ngram=0"),
        ({"bands": 20, "rows": 7}, "exceeds num_perm"),
        ({"bands": 4}, "give both bands and rows"),
        ({"verify": "maybe"}, "verify='maybe'"),
        ({"shingle": "token"}, "shingle='token'"),
        ({"kernel": "sse9"}, "kernel='sse9'"),
        ({"threads": 0}, "threads=0"),
    ],
)
def test_bad_parameters_raise_parameter_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        near_dedup(["a b c"], **kwargs)


def test_bad_columns_raise_clear_errors() -> None:
    with pytest.raises(NullValueError, match="row 2"):
        near_dedup(pa.array(["a", "b", None]))
    with pytest.raises(NullValueError, match="'text' has a null at row 5"):
        near_dedup(pa.chunked_array([["a"] * 4, ["b", None]]), column="text")
    with pytest.raises(ColumnTypeError, match="Int64"):
        near_dedup(pa.array([1, 2, 3]))
    with pytest.raises(ColumnTypeError, match="Int64"):
        near_dedup(pa.chunked_array([], type=pa.int64()))
    with pytest.raises(ColumnTypeError):
        near_dedup(["a", 3])  # type: ignore[list-item]
    with pytest.raises(ColumnTypeError, match="Arrow array"):
        near_dedup(42)
    with pytest.raises(InputError, match="no column 'body'"):
        near_dedup(pa.table({"text": ["a"]}), column="body")
    with pytest.raises(InputError, match="scores has 1 values for 2 records"):
        near_dedup(["a", "b"], scores=[1.0])
    assert issubclass(ColumnTypeError, TypeError) and issubclass(NullValueError, ValueError)
    assert issubclass(ParameterError, NativeError)


def test_band_choice_and_keys() -> None:
    b, r, p = choose_bands(0.8)
    assert (b, r) == (18, 7) and p >= 0.985
    keys = band_keys(["a b c d e f", "a b c d e f", ""])
    assert keys.shape == (18, 3) and keys.dtype == np.uint64
    assert (keys[:, 0] == keys[:, 1]).all() and (keys[:, 2] == 0).all()


def test_unicode_and_huge_records() -> None:
    big = " ".join(words(40_000))
    docs = [
        "Ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ ａｂｃ ｄｅｆ",
        "full width text abc def",
        big,
        big + " tail",
        "数学 问题 一 二 三 四",
    ]
    r = near_dedup(docs, ngram=3)
    assert r.duplicate_of.tolist() == [-1, 0, -1, 2, -1]
    rc = near_dedup(["数学问题很难很难", "数学问题很难很难。"], shingle="char", ngram=3)
    assert rc.duplicate_of.tolist() == [-1, 0]
