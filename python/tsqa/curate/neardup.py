"""Near-duplicate detection with MinHash + LSH (native core, GIL released).

Pipeline (see ``rust/src/neardup.rs``): normalise → word/char n-gram shingles → K-permutation
MinHash → band keys with the S-curve knee below the threshold → sort-based star grouping →
verification (exact Jaccard by default) → union-find with the lowest id (or best score) kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tsqa import _native
from tsqa._native import MinHashIndex
from tsqa.curate._columns import TextColumn, text_column, u64_ids

__all__ = [
    "Kernel",
    "MinHashIndex",
    "NearDupResult",
    "Shingle",
    "Verify",
    "band_keys",
    "build_index",
    "choose_bands",
    "minhash_signatures",
    "near_dedup",
]

Verify = Literal["exact", "signature", "none"]
Shingle = Literal["word", "char"]
Kernel = Literal["auto", "scalar", "avx2", "avx512"]


@dataclass(frozen=True)
class NearDupResult:
    """Per-record near-dup outcome; arrays are aligned with the input rows."""

    cluster_id: npt.NDArray[np.int64]
    """Row of the record kept for this record's cluster (itself when kept)."""
    is_duplicate: npt.NDArray[np.bool_]
    """True for records to drop: not their cluster's representative, or matching the index."""
    duplicate_of: npt.NDArray[np.int64]
    """Representative row, or -1 for kept records."""
    cluster_size: npt.NDArray[np.int64]
    index_match: npt.NDArray[np.int64]
    """Id (as stored in the index) of the earliest matching index record, or -1."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Seconds per stage, candidate/verified pair counts, bands/rows and kernel used."""

    def to_arrow(self) -> pa.Table:
        """The result columns as a table (to append to the input)."""
        return pa.table(
            {
                "cluster_id": self.cluster_id,
                "is_duplicate": self.is_duplicate,
                "duplicate_of": self.duplicate_of,
                "cluster_size": self.cluster_size,
                "index_match": self.index_match,
            }
        )


def near_dedup(
    texts: TextColumn,
    *,
    column: str | None = None,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    bands: int | None = None,
    rows: int | None = None,
    verify: Verify = "exact",
    scores: npt.ArrayLike | None = None,
    index: MinHashIndex | None = None,
    threads: int | None = None,
    kernel: Kernel = "auto",
) -> NearDupResult:
    """Clusters near-duplicate records (Jaccard of shingle sets ≥ ``threshold``).

    ``scores`` (one float per record) makes the best-scoring member the representative instead
    of the lowest row; ``index`` also flags records matching an earlier corpus.

    >>> r = near_dedup(["What is 2 + 2? The answer is 4.", "what is 2+2?  the answer is 4", "What is 3 + 3? 6"], ngram=3)
    >>> r.duplicate_of.tolist(), r.cluster_size.tolist()
    ([-1, 0, -1], [2, 2, 1])
    """
    data, name = text_column(texts, column)
    sc = None if scores is None else np.ascontiguousarray(scores, dtype=np.float64)
    out = _native.near_dedup(
        data,
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        shingle=shingle,
        keep_digits=keep_digits,
        seed=seed,
        bands=bands,
        rows=rows,
        verify=verify,
        scores=sc,
        index=index,
        threads=threads,
        kernel_name=kernel,
        column=name,
    )
    return NearDupResult(**out)


def minhash_signatures(
    texts: TextColumn,
    *,
    column: str | None = None,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    threads: int | None = None,
    kernel: Kernel = "auto",
) -> npt.NDArray[np.uint32]:
    """``n × num_perm`` signatures, bit-identical across CPUs, kernels and thread counts.

    >>> sig = minhash_signatures(["a b c d e f", "a b c d e g"], ngram=2, num_perm=64)
    >>> sig.shape, bool((sig[0] == sig[1]).mean() > 0.3)
    ((2, 64), True)
    """
    data, name = text_column(texts, column)
    return _native.minhash_signatures(
        data,
        num_perm=num_perm,
        ngram=ngram,
        shingle=shingle,
        keep_digits=keep_digits,
        seed=seed,
        threads=threads,
        kernel_name=kernel,
        column=name,
    )


def band_keys(
    texts: TextColumn,
    *,
    column: str | None = None,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    bands: int | None = None,
    rows: int | None = None,
    threads: int | None = None,
    kernel: Kernel = "auto",
) -> npt.NDArray[np.uint64]:
    """``bands × n`` LSH band keys (0 marks a record without shingles).

    >>> band_keys(["one two three", "one two three", ""], ngram=2).shape
    (18, 3)
    """
    data, name = text_column(texts, column)
    return _native.band_keys(
        data,
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        shingle=shingle,
        keep_digits=keep_digits,
        seed=seed,
        bands=bands,
        rows=rows,
        threads=threads,
        kernel_name=kernel,
        column=name,
    )


def choose_bands(threshold: float, num_perm: int = 128) -> tuple[int, int, float]:
    """``(bands, rows, detection probability at the threshold)``, knee below the threshold.

    >>> choose_bands(0.8)[:2]
    (18, 7)
    """
    return _native.choose_bands(threshold, num_perm)


def build_index(
    texts: TextColumn,
    ids: npt.ArrayLike | None = None,
    *,
    column: str | None = None,
    threads: int | None = None,
    **params: Any,
) -> MinHashIndex:
    """A new ``MinHashIndex`` holding ``texts`` (``params`` as for ``near_dedup``).

    >>> idx = build_index(["the seed question about apples and pears"], ngram=3)
    >>> r = near_dedup(["The seed question about apples and pears!", "new"], ngram=3, index=idx)
    >>> r.index_match.tolist(), r.is_duplicate.tolist()
    ([0, -1], [True, False])
    """
    index = MinHashIndex(**params)
    data, name = text_column(texts, column)
    index.add(data, u64_ids(ids), threads=threads, column=name)
    return index
