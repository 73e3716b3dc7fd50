"""Exact deduplication: xxh3-128 of the normalised text (or of several fields), first kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tsqa import _native
from tsqa.curate._columns import TextColumn, text_column

__all__ = ["ExactResult", "exact_dedup"]


@dataclass(frozen=True)
class ExactResult:
    hash: npt.NDArray[np.uint64]
    """``n × 2`` (high, low) halves of each record's 128-bit hash."""
    is_duplicate: npt.NDArray[np.bool_]
    first_index: npt.NDArray[np.int64]
    """Row of the first record with the same hash (itself when kept)."""


def exact_dedup(
    data: TextColumn,
    *,
    columns: str | Sequence[str] | None = None,
    normalize: bool = True,
    keep_digits: bool = True,
    threads: int | None = None,
) -> ExactResult:
    """Flags records whose (normalised) text, or tuple of fields, appeared earlier.

    With a table, ``columns`` names one field or several (hashed as a length-prefixed tuple).

    >>> exact_dedup(["Hello, world!", "hello world", "other"]).first_index.tolist()
    [0, 0, 2]
    >>> exact_dedup(["Hello, world!", "hello world"], normalize=False).is_duplicate.tolist()
    [False, False]
    """
    names = [columns] if isinstance(columns, str) else list(columns or [])
    if isinstance(data, pa.Table | pa.RecordBatch):
        if not names:
            raise _native.InputError(f"a table was given; pass columns= (from: {', '.join(data.column_names)})")
        cols = [text_column(data, c) for c in names]
    else:
        if len(names) > 1:
            raise _native.InputError("several columns need a table as data")
        cols = [text_column(data, names[0] if names else None)]
    out = _native.exact_dedup(
        [c for c, _ in cols], normalize=normalize, keep_digits=keep_digits, names=[n for _, n in cols], threads=threads
    )
    return ExactResult(
        hash=np.stack([out["hash_hi"], out["hash_lo"]], axis=1),
        is_duplicate=out["is_duplicate"],
        first_index=out["first_index"],
    )
