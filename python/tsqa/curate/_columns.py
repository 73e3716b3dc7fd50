"""Turning the inputs users have (tables, Arrow columns, Python lists) into Arrow columns for the
native core, with errors from the same exception family as the core's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tsqa import _native

TextColumn: TypeAlias = Any
"""A string column: pyarrow Array/ChunkedArray (string, large_string, string_view), any object
with ``__arrow_c_array__``/``__arrow_c_stream__``, a table plus ``column=``, or a list of str."""


def text_column(data: TextColumn, column: str | None, *, what: str = "texts") -> tuple[Any, str]:
    """Returns an Arrow-capsule object for ``data`` and the name used in error messages."""
    if isinstance(data, pa.Table | pa.RecordBatch):
        if column is None:
            raise _native.InputError(
                f"a table was given for {what}; pass column= (one of: {', '.join(data.column_names)})"
            )
        if column not in data.column_names:
            raise _native.InputError(f"no column '{column}'; the table has: {', '.join(data.column_names)}")
        return data.column(column), column
    name = column or what
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        try:
            return pa.array(data, type=pa.large_string()), name
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
            raise _native.ColumnTypeError(f"{what} must be strings: {e}") from None
    return data, name


def list_column(data: Any, what: str) -> Any:
    """A list<string> column from Arrow or from a list of lists of str (None rows allowed)."""
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        try:
            return pa.array(data, type=pa.list_(pa.large_string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
            raise _native.ColumnTypeError(f"{what} must be lists of strings: {e}") from None
    return data


def optional_strings(data: Any, what: str) -> Any:
    """A string column that may hold nulls, from Arrow or a list of str | None."""
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        try:
            return pa.array(data, type=pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
            raise _native.ColumnTypeError(f"{what} must be strings or None: {e}") from None
    return data


def u64_ids(ids: Sequence[int] | npt.ArrayLike | None, what: str = "ids") -> npt.NDArray[np.uint64] | None:
    if ids is None:
        return None
    arr = np.asarray(ids)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise _native.ColumnTypeError(f"{what} must be a 1-D sequence of non-negative integers, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise _native.ParameterError(f"{what} must be non-negative, got {int(arr.min())}")
    return np.ascontiguousarray(arr, dtype=np.uint64)
