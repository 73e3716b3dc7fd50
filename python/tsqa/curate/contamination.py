"""Contamination check: word n-gram overlap (13-grams by default, GPT-3's convention) of
generated records with evaluation texts, through a persistent index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tsqa._native import NgramIndex
from tsqa.curate._columns import TextColumn, text_column, u64_ids

__all__ = ["ContaminationResult", "NgramIndex", "build_contamination_index", "contamination"]


@dataclass(frozen=True)
class ContaminationResult:
    count: npt.NDArray[np.uint32]
    """Distinct n-grams of the record found in the eval texts."""
    ids: pa.ListArray
    """Per record, the sorted ids of the eval texts it overlaps."""

    @property
    def contaminated(self) -> npt.NDArray[np.bool_]:
        return self.count > 0


def build_contamination_index(
    texts: TextColumn,
    ids: npt.ArrayLike | None = None,
    *,
    column: str | None = None,
    n: int = 13,
    keep_digits: bool = True,
    threads: int | None = None,
) -> NgramIndex:
    """Indexes the word n-grams of eval texts (``ids`` default to row positions).

    >>> idx = build_contamination_index(["Which planet is known as the red planet?"], ids=[7], n=5)
    >>> contamination(["Q: which planet is known as the red planet. A: Mars"], idx).ids.to_pylist()
    [[7]]
    """
    data, name = text_column(texts, column)
    return NgramIndex.build(data, u64_ids(ids), n=n, keep_digits=keep_digits, threads=threads, column=name)


def contamination(
    texts: TextColumn, index: NgramIndex, *, column: str | None = None, threads: int | None = None
) -> ContaminationResult:
    """Overlap of each record with the indexed eval texts."""
    data, name = text_column(texts, column)
    out = index.query(data, threads=threads, column=name)
    return ContaminationResult(count=out["count"], ids=out["ids"])
