"""Eval files in the data dir, as references for the content check: every one read, or the fetch fails.

A file the content check cannot read is a reference it silently lacks, so an eval split saved
with a byte-order mark, one broken line, as `.csv`, gzipped, in a hidden folder or thirteen
folders down would let its rows through as seed rows. Here every *eval-looking* file under the
data dir (a path component named like eval data, or a file of the seed dataset's own eval splits)
is found by a walk that skips nothing (hidden folders, any depth, symlinked files), and read as
text records whatever it is:

- `.jsonl`, `.json`, `.parquet`, `.csv`, `.tsv`, `.txt`, each optionally `.gz`/`.bz2`/`.xz`
  compressed; a BOM is ignored; a JSON line that does not parse is kept as its raw text (it is
  still text an eval row may be made of);
- anything else that is eval-looking (an `.arrow`, a `.zip`, an unknown suffix) fails the fetch,
  naming the file: either tsqa reads it or the user removes it.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import stat
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePath
from typing import IO, Any

from tsqa.seeds.content import EvalRecords
from tsqa.seeds.errors import SeedDataError
from tsqa.seeds.names import eval_word

MAX_WALK = 500_000
"""Entries looked at under the data dir; past it the fetch fails rather than check half of it."""
MAX_REFERENCE_BYTES = 2 << 30
"""Decompressed bytes read from one eval file (a decompression bomb stops here, with a message)."""
_TEXT = frozenset({".jsonl", ".json", ".csv", ".tsv", ".txt", ".md", ".parquet", ".arrow"})
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SKIP = frozenset({"sources.json", ".gitattributes", "readme.md", "license", "license.txt", ".ds_store"})


class EvalReferenceUnreadable(SeedDataError):
    """An eval-looking file that cannot be read as a content-check reference."""


def eval_looking_files(data_dir: Path, splits: Iterable[str] = (), dataset_folder: Path | None = None) -> list[Path]:
    """Every eval-looking file under `data_dir` (and `dataset_folder`, when it lies elsewhere):
    a component of its path below the root is named like eval data, or, inside the dataset's own
    folder, its name starts with one of the dataset's eval `splits` (`test.jsonl`, `test-0000…`)."""
    wanted = {s.casefold() for s in splits}
    roots = [r for r in (data_dir, dataset_folder) if r is not None and r.is_dir()]
    found: dict[str, Path] = {}
    seen = 0
    for root in roots:
        for folder, dirs, files in os.walk(root, followlinks=False):
            seen += len(dirs) + len(files)
            if seen > MAX_WALK:
                raise EvalReferenceUnreadable(
                    f"{data_dir}: over {MAX_WALK:,} entries to look through for eval files; "
                    "point --data-dir at a smaller folder"
                )
            rel_folder = PurePath(os.path.relpath(folder, root))
            folder_eval = any(eval_word(p) for p in rel_folder.parts if p not in (".", ""))
            in_dataset = dataset_folder is not None and Path(folder).is_relative_to(dataset_folder)
            for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                path = Path(folder) / name
                if name.casefold() in _SKIP:
                    continue
                split = name.split(".")[0].split("-")[0].casefold()
                if folder_eval or eval_word(name) or (in_dataset and split in wanted):
                    found.setdefault(os.path.realpath(path), path)
    return sorted(found.values())


def read_reference(path: Path, source: str | None = None) -> EvalRecords:
    """The eval records of one file (see the module doc), named `source` in reports;
    EvalReferenceUnreadable otherwise."""
    from tsqa.seeds.guard import system_path

    if (step := system_path(path)) is not None:
        raise EvalReferenceUnreadable(f"{path}: eval file goes through {step}, a system path (/proc, /dev, /sys)")
    try:
        st = path.stat()
    except OSError as err:
        raise EvalReferenceUnreadable(f"{path}: eval file cannot be read ({err.strerror})") from None
    if os.path.isdir(path):
        raise EvalReferenceUnreadable(f"{path}: a link to a folder named like eval data; tsqa cannot check it")
    if not stat.S_ISREG(st.st_mode):
        raise EvalReferenceUnreadable(f"{path}: eval file is not a regular file (a device or a FIFO?)")
    records = _read_cached(str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if source is None or source == records.source:
        return records
    return EvalRecords(
        source, [f"{source} record {i + 1}" for i in range(len(records.ids))], records.texts, records.fields
    )


@lru_cache(maxsize=256)
def _read_cached(name: str, size: int, mtime_ns: int, inode: int) -> EvalRecords:
    from tsqa.seeds.content import record_text, text_fields

    path = Path(name)
    suffixes = [s.lower() for s in path.suffixes]
    opener = _COMPRESSED.get(suffixes[-1]) if suffixes else None
    kind = (suffixes[-2] if opener is not None and len(suffixes) > 1 else suffixes[-1]) if suffixes else ""
    if kind not in _TEXT:
        raise EvalReferenceUnreadable(
            f"{path}: named like eval data, but tsqa cannot read it as a content-check reference "
            f"(format {''.join(path.suffixes) or 'without a suffix'!r}); convert it to .jsonl/.json/.parquet/.csv "
            "or remove it from the data dir"
        )
    rows: list[Any]
    try:
        if kind in (".parquet", ".arrow"):
            rows = _columnar_rows(path, opener, kind)
        else:
            with _open(path, opener) as raw:
                text = _bounded_text(raw, path)
            rows = _text_rows(text, kind)
    except EvalReferenceUnreadable:
        raise
    except (OSError, EOFError, lzma.LZMAError, ValueError) as err:
        raise EvalReferenceUnreadable(f"{path}: eval file cannot be read as a reference ({err})") from None
    source = f"eval file {path.name}"
    return EvalRecords(
        source,
        [f"{source} record {i + 1}" for i in range(len(rows))],
        [record_text(r) for r in rows],
        [text_fields(r, keys=False) if isinstance(r, dict) else [] for r in rows],
    )


def _open(path: Path, opener: Any) -> IO[bytes]:
    if opener is None:
        return path.open("rb")
    handle: IO[bytes] = opener(path, "rb")
    return handle


def _bounded_text(raw: IO[bytes], path: Path) -> str:
    data = raw.read(MAX_REFERENCE_BYTES + 1)
    if len(data) > MAX_REFERENCE_BYTES:
        raise EvalReferenceUnreadable(f"{path}: eval file over {MAX_REFERENCE_BYTES:,} bytes once decompressed")
    return data.decode("utf-8-sig", errors="replace")


def _text_rows(text: str, kind: str) -> list[Any]:
    if kind == ".json":
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError, ValueError):
            return list(_json_lines(text))  # JSON lines under a .json name, or broken: line by line
        return value if isinstance(value, list) else [value]
    if kind in (".csv", ".tsv"):
        dialect = "excel-tab" if kind == ".tsv" else "excel"
        csv.field_size_limit(MAX_REFERENCE_BYTES)
        return [dict(enumerate(r)) for r in csv.reader(io.StringIO(text), dialect)]
    if kind in (".txt", ".md"):
        return [line for line in text.splitlines() if line.strip()]
    return list(_json_lines(text))


def _json_lines(text: str) -> Iterator[Any]:
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except (json.JSONDecodeError, RecursionError, ValueError):
            yield line  # a broken line is still text an eval row may be made of


def _columnar_rows(path: Path, opener: Any, kind: str) -> list[Any]:
    """Parquet, or Arrow IPC (a `datasets` `save_to_disk` folder holds stream-format `.arrow`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _open(path, opener) as raw:
        data = raw.read(MAX_REFERENCE_BYTES + 1)
    if len(data) > MAX_REFERENCE_BYTES:
        raise EvalReferenceUnreadable(f"{path}: eval file over {MAX_REFERENCE_BYTES:,} bytes once decompressed")
    try:
        if kind == ".parquet":
            table = pq.read_table(pa.BufferReader(data))
        else:
            try:
                table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
            except pa.ArrowInvalid:
                table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    except pa.ArrowException as err:
        raise EvalReferenceUnreadable(f"{path}: eval file is not readable {kind[1:]} ({err})") from None
    rows: list[Any] = table.to_pylist()
    if table.column_names and set(table.column_names) == {"id", "text"}:  # an eval-store style file
        rows = [r["text"] or "" for r in rows]
    return rows
