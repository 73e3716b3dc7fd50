"""Local copies of hub datasets: read an lm-eval or hf seed from files instead of the hub.

For offline work and tests. A data folder (`--data-dir DIR` or `TSQA_SEED_DATA_DIR`) holds, per
dataset, one file per split in the dataset's own schema:

    DIR/<dataset_path>/<dataset_name>/train.jsonl      (or .json, .parquet, train-*.parquet …)
    DIR/<dataset_path>/train.jsonl                      (datasets without a config name)

or any folder named in `DIR/sources.json`: {"allenai/ai2_arc:ARC-Easy": "arc", "openai/gsm8k": "gsm8k"}
(`path:name` first, then `path`). Only the requested split's files are opened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tsqa.seeds.errors import SeedError
from tsqa.seeds.source import FileFormat, file_format

DATA_DIR_ENV = "TSQA_SEED_DATA_DIR"
INDEX_FILE = "sources.json"
_SUFFIXES = (".jsonl", ".json", ".parquet")


def data_dir_from_env() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def dataset_folder(data_dir: Path, dataset_path: str, dataset_name: str | None) -> Path | None:
    """The folder holding a dataset's local split files, or None when the data dir has none."""
    index_file = data_dir / INDEX_FILE
    if index_file.is_file():
        try:
            index = json.loads(index_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise SeedError(f"{index_file}:{err.lineno}: invalid JSON: {err.msg}") from None
        for key in ([f"{dataset_path}:{dataset_name}"] if dataset_name else []) + [dataset_path]:
            if key in index:
                return data_dir / index[key]
    for folder in ([data_dir / dataset_path / dataset_name] if dataset_name else []) + [data_dir / dataset_path]:
        if folder.is_dir():
            return folder
    return None


def split_files(folder: Path, split: str) -> list[tuple[Path, FileFormat]]:
    """`<split>.<ext>` or shards `<split>-*.<ext>` in `folder`; SeedError when there are none."""
    found = [folder / f"{split}{s}" for s in _SUFFIXES if (folder / f"{split}{s}").is_file()]
    if not found:
        found = sorted(p for s in _SUFFIXES for p in folder.glob(f"{split}-*{s}"))
    if not found:
        raise SeedError(
            f"{folder}: no file for split {split!r} (expected {split}.jsonl, {split}.json or {split}.parquet)"
        )
    return [(p, file_format(p)) for p in found]
