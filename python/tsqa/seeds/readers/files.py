"""Local JSONL / JSON / Parquet files → one Arrow table, with errors naming file and line.

Every row carries where it came from in WHERE_COLUMN (`file:line` for JSONL, `file item N` for
JSON, `file row N` for Parquet), so a record that fails later names its file and line. A JSON
`NaN` (or an infinity) is a missing value, like `null`: the record that needs it is rejected, and
the rest of its column keeps its type. An empty training file is an error, not 0 rows.
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import accumulate, islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.seeds.errors import SeedDataError
from tsqa.seeds.readers.parquet_head import HEAD_ROWS, OpenedParquet, open_parquet
from tsqa.seeds.source import FileFormat

WHERE_COLUMN = "_tsqa_where"
"""Reserved column: the source location of each row (dropped before normalisation sees the row)."""


def read_files(files: Sequence[tuple[Path, FileFormat]], limit: int | None = None) -> pa.Table:
    """The rows of every file, in order, at most `limit`. Columns are unified across files."""
    tables: list[pa.Table] = []
    left = limit
    for path, fmt in files:
        if left is not None and left <= 0:
            break
        if fmt == "parquet":
            table = _read_parquet(path, left)
            where = [f"{path} row {i + 1}" for i in range(table.num_rows)]
        else:
            located = list(islice(_iter_json_rows(path, fmt), left))
            table = rows_to_table([row for _, row in located], str(path), [w for w, _ in located])
            where = [w for w, _ in located]
        if table.num_rows == 0 and (left is None or left > 0):
            raise SeedDataError(f"{path}: the file holds no rows (an empty training file)")
        if WHERE_COLUMN in table.column_names:
            raise SeedDataError(f"{path}: column {WHERE_COLUMN!r} is reserved by tsqa")
        tables.append(table.append_column(WHERE_COLUMN, _string_array(where)))
        left = None if left is None else left - table.num_rows
    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise SeedDataError(
            f"files {', '.join(str(p) for p, _ in files)}: columns differ in type across files: {err}"
        ) from None


def _string_array(values: list[str]) -> pa.Array:
    """A string array built from its buffers: `pa.array` on a Python list imports pandas (0.3 s)
    to ask whether the list is a pandas object, which `tsqa plan` pays for nothing."""
    data = [v.encode("utf-8") for v in values]
    if sum(map(len, data)) >= 2**31:  # int32 offsets cannot hold it
        return pa.array(values, pa.string())
    offsets = array("i", accumulate(map(len, data), initial=0))
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)))


def count_rows(path: Path, fmt: FileFormat) -> int:
    """Rows of one file without building a table: the Parquet footer, or non-blank JSONL lines."""
    try:
        if fmt == "parquet":
            return _parquet_file(path).num_rows
        if fmt == "jsonl":
            return _count_jsonl(path)
        return sum(1 for _ in _iter_json_rows(path, fmt))
    except FileNotFoundError:
        raise SeedDataError(f"{path}: file not found") from None
    except (OSError, pa.ArrowException) as err:
        raise SeedDataError(f"{path}: cannot read: {err}") from None


def _count_jsonl(path: Path) -> int:
    """Non-blank lines, at byte speed (plan counts without a fetch); a line that cannot be one JSON
    object (garbage, a truncated last line) is an error naming it, not a row. Fetch parses each."""
    rows = 0
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            if lineno == 1:
                text = text.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark
            if text[:1] != b"{" or text[-1:] != b"}":
                raise SeedDataError(f"{path}:{lineno}: invalid JSON: not one JSON object on the line")
            rows += 1
    return rows


def rows_to_table(rows: list[dict[str, Any]], where: str, locations: list[str] | None = None) -> pa.Table:
    """Rows → table, one column at a time so a bad column is named (keys unioned, missing = null)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {}
    for name in names:
        values = [_missing_if_nan(row.get(name)) for row in rows]
        if (inf := next((i for i, row in enumerate(rows) if _is_inf(row.get(name))), None)) is not None:  # 1e400
            place = locations[inf] if locations else f"row {inf + 1}"
            raise SeedDataError(f"{place}: column {name!r} holds a number too large for a float")
        try:
            columns[name] = pa.array(values)
        except OverflowError:  # an integer past 64 bits (Arrow has no wider integer)
            huge = next((i for i, v in enumerate(values) if _has_huge_int(v)), None)
            place = (locations[huge] if locations else f"row {huge + 1}") if huge is not None else where
            raise SeedDataError(
                f"{place}: column {name!r} holds an integer that does not fit in 64 bits; write it as a string"
            ) from None
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            bad = _first_odd_row(values)
            at = (locations[bad] if locations else f"row {bad + 1}") if bad is not None else None
            raise SeedDataError(
                f"{where}: column {name!r} has values of different types"
                + (f" (first differing at {at})" if at is not None else "")
                + f": {err}"
            ) from None
    return pa.table(columns)


def _has_huge_int(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            return True
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _is_inf(value: Any) -> bool:
    return isinstance(value, float) and math.isinf(value)


def _missing_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _first_odd_row(values: list[Any]) -> int | None:
    kinds = [type(v) for v in values if v is not None]
    first = kinds[0] if kinds else None
    for i, v in enumerate(values):
        if v is not None and type(v) is not first:
            return i
    return None


def _read_parquet(path: Path, limit: int | None) -> pa.Table:
    try:
        if limit is None:
            return pq.read_table(path)
        opened = _parquet_file(path)
        if not opened.covers(limit):
            opened = _parquet_file(path, head_rows=None)
        pf = opened.file
        groups: list[int] = []
        rows = 0
        while rows < limit and len(groups) < pf.metadata.num_row_groups:  # only the groups it needs
            rows += pf.metadata.row_group(len(groups)).num_rows
            groups.append(len(groups))
        batches = []
        for batch in pf.iter_batches(batch_size=min(limit, 65_536), row_groups=groups, use_threads=False):
            batches.append(batch)
            limit -= batch.num_rows
            if limit <= 0:
                break
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow)
        return table.slice(0, table.num_rows + min(limit, 0))
    except FileNotFoundError:
        raise SeedDataError(f"{path}: file not found") from None
    except (OSError, pa.ArrowException) as err:
        raise SeedDataError(f"{path}: not a readable Parquet file: {err}") from None


def _parquet_file(path: Path, head_rows: int | None = HEAD_ROWS) -> OpenedParquet:
    """A Parquet file opened (its footer parsed) once for its row count and its first rows, as a
    plan reads them; opened again whenever the file changed (device, inode, size, times)."""
    st = os.stat(path)
    return _opened(os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, head_rows)


@lru_cache(maxsize=4)  # one spec's files at a time: few open handles
def _opened(
    path: str, dev: int, inode: int, size: int, mtime_ns: int, ctime_ns: int, head_rows: int | None
) -> OpenedParquet:
    return open_parquet(path, head_rows)


def _iter_json_rows(path: Path, fmt: FileFormat) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, row) of each record."""
    try:
        if fmt == "json":
            for i, row in enumerate(_json_document_rows(path)):
                yield f"{path} item {i + 1}", row
            return
        with path.open("r", encoding="utf-8-sig") as f:  # a byte-order mark is not part of the data
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                row = _loads(line, f"{path}:{lineno}")
                if not isinstance(row, dict):
                    raise SeedDataError(f"{path}:{lineno}: expected a JSON object per line, found {type(row).__name__}")
                yield f"{path}:{lineno}", row
    except FileNotFoundError:
        raise SeedDataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SeedDataError(f"{path}: is a folder, not a data file") from None
    except OSError as err:
        raise SeedDataError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise SeedDataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


MAX_DEPTH = 64
"""Deepest nesting of lists and objects in a record: deeper ones are refused, not recursed into."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _constant(name: str) -> float:
    """`NaN` is a missing value (pandas writes it so); `Infinity` is no value a record can mean."""
    if name == "NaN":
        return math.nan
    raise ValueError(f"{name} is not a usable number")


# One decoder (json.loads with arguments builds one per call); `1e400` is refused in rows_to_table.
_DECODER = json.JSONDecoder(parse_constant=_constant)


def _loads(text: str, where: str) -> Any:
    """json.loads, with every way a document can fail reported at `where` (no tracebacks)."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as err:
        at = where if ":" in where.rsplit("/", 1)[-1] else f"{where}:{err.lineno}"
        raise SeedDataError(f"{at}: invalid JSON: {err.msg} (column {err.colno})") from None
    except RecursionError:
        raise SeedDataError(f"{where}: JSON nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as err:  # an integer of more than 4300 digits
        raise SeedDataError(f"{where}: unusable JSON value: {err}") from None
    if text.count("[") + text.count("{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(text):
        _check_value(value, where)
    return value


def _check_value(value: Any, where: str) -> None:
    """No nesting deeper than MAX_DEPTH and no lone surrogate (`"\\ud800"`: not Unicode text)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise SeedDataError(f"{where}: JSON nested more than {MAX_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise SeedDataError(f"{where}: text with a lone surrogate escape (not valid Unicode)") from None


def _json_document_rows(path: Path) -> Iterator[dict[str, Any]]:
    """A JSON file: a list of objects, or an object holding one (`{"data": [...]}`, as HF writes)."""
    doc = _loads(path.read_text(encoding="utf-8-sig"), str(path))
    if isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), list):
        doc = next(iter(doc.values()))
    if not isinstance(doc, list):
        raise SeedDataError(f"{path}: expected a JSON list of objects")
    for i, row in enumerate(doc):
        if not isinstance(row, dict):
            raise SeedDataError(f"{path}: item {i} is a {type(row).__name__}, expected an object")
        yield row
