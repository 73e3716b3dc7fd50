"""Local copies of hub datasets: read an lm-eval or hf seed from files instead of the hub.

For offline work and tests. A data folder (`--data-dir DIR` or `TSQA_SEED_DATA_DIR`) holds, per
dataset, one file per split in the dataset's own schema:

    DIR/<dataset_path>/<dataset_name>/train.jsonl      (or .json, .parquet, train-*.parquet …)
    DIR/<dataset_path>/train.jsonl                      (datasets without a config name)
    DIR/<dataset_path>/data/train-00000-of-00001.parquet   (the hub's own layout)

or any folder named in `DIR/sources.json`: {"allenai/ai2_arc:ARC-Easy": "arc", "openai/gsm8k": "gsm8k"}
(`path:name` first, then `path`). Only the requested split's files are opened, and every one of
them, like every folder, passes the guard (guard.py) on its resolved path before it is read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tsqa.seeds.errors import SeedDataError, SeedError
from tsqa.seeds.source import FileFormat, file_format

DATA_DIR_ENV = "TSQA_SEED_DATA_DIR"
INDEX_FILE = "sources.json"
_SUFFIXES = (".jsonl", ".json", ".parquet")


def data_dir_from_env() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def read_index(index_file: Path) -> dict[str, str]:
    """`sources.json`, checked: a JSON object of dataset keys to folder names (relative paths)."""
    try:
        raw = index_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SeedDataError(f"{index_file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise SeedDataError(f"{index_file}: cannot read: {err.strerror}") from None
    try:
        index: Any = json.loads(raw)
    except json.JSONDecodeError as err:
        raise SeedDataError(f"{index_file}:{err.lineno}: invalid JSON: {err.msg} (column {err.colno})") from None
    if not isinstance(index, dict):
        raise SeedDataError(
            f"{index_file}: expected a JSON object of dataset → folder, found {_json_kind(index)}"
            ' (e.g. {"allenai/ai2_arc:ARC-Easy": "arc"})'
        )
    for key, value in index.items():
        if not isinstance(value, str) or not value.strip():
            raise SeedDataError(f"{index_file}: key {key!r}: expected a folder name (text), found {_json_kind(value)}")
        if os.path.isabs(value) or value.startswith("~"):
            raise SeedDataError(f"{index_file}: key {key!r}: folder {value!r} must be relative to the data dir")
    return index


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def dataset_folder(data_dir: Path, dataset_path: str, dataset_name: str | None) -> Path | None:
    """The folder holding a dataset's local split files, or None when the data dir has none."""
    index_file = data_dir / INDEX_FILE
    if index_file.is_file() or index_file.is_symlink():
        index = read_index(index_file)
        for key in ([f"{dataset_path}:{dataset_name}"] if dataset_name else []) + [dataset_path]:
            if key in index:
                folder = data_dir / index[key]
                if not _is_dir(folder):
                    raise SeedDataError(f"{index_file}: key {key!r}: folder {folder} does not exist")
                return folder
    for folder in ([data_dir / dataset_path / dataset_name] if dataset_name else []) + [data_dir / dataset_path]:
        if _is_dir(folder):
            return folder
    return None


def _is_dir(folder: Path) -> bool:
    """Path.is_dir, with a name too long (or otherwise unusable) reading as no folder."""
    try:
        return folder.is_dir()
    except (OSError, ValueError):
        return False


def split_files(folder: Path, split: str) -> list[tuple[Path, FileFormat]]:
    """`<split>.<ext>`, shards `<split>-*.<ext>`, or the hub layout `data/<split>-*.<ext>` in
    `folder`; SeedError when there are none. Nothing else in the folder is looked at."""
    found = [folder / f"{split}{s}" for s in _SUFFIXES if (folder / f"{split}{s}").is_file()]
    if not found:
        found = sorted(p for s in _SUFFIXES for p in folder.glob(f"{_escape(split)}-*{s}"))
    if not found and (folder / "data").is_dir():
        found = sorted(p for s in _SUFFIXES for p in (folder / "data").glob(f"{_escape(split)}-*{s}"))
    if not found:
        raise SeedError(
            f"{folder}: no file for split {split!r} (expected {split}.jsonl, {split}.json or {split}.parquet)"
        )
    return [(p, file_format(p)) for p in found]


def _escape(name: str) -> str:
    import glob

    return glob.escape(name)
