"""Where a task's seed rows come from, and which tasks share them.

Several lm-eval families read the same training data under different task names or through
re-uploads (MATH in hendrycks_math, minerva_math and leaderboard; tinyBenchmarks subsets). A
`data_key` names the rows so seeds can be deduplicated before any generation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

# Re-uploads of the same rows under another hub id, configs named alike.
DATASET_ALIASES: dict[str, str] = {
    "DigitalLearningGmbH/MATH-lighteval": "EleutherAI/hendrycks_math",
    "tinyBenchmarks/tinyAI2_arc": "allenai/ai2_arc",
    "tinyBenchmarks/tinyGSM8k": "openai/gsm8k",
    "tinyBenchmarks/tinyHellaswag": "Rowan/hellaswag",
    "tinyBenchmarks/tinyWinogrande": "allenai/winogrande",
}

# `dataset_path` values that are `datasets` builders reading `data_files`, not hub datasets.
FILE_LOADERS = frozenset({"csv", "json", "parquet", "text", "arrow"})
MULTIMODAL_FIELDS = ("doc_to_image", "doc_to_audio")


def canonical_dataset(dataset_path: str) -> str:
    """The hub id a re-upload copies (DATASET_ALIASES), else the path itself."""
    return DATASET_ALIASES.get(dataset_path, dataset_path)


def data_key(dataset_path: str | None, dataset_name: str | None, split: str | None, data_files: object) -> str | None:
    """`path[:name]@split` (plus the split's files for file loaders); None without a source."""
    if dataset_path is None or split is None:
        return None
    key = DATASET_ALIASES.get(dataset_path, dataset_path)
    if dataset_name:
        key += f":{dataset_name}"
    key += f"@{split}"
    files = split_files(data_files, split)
    if files:
        key += "=" + json.dumps(files, sort_keys=True)
    return key


def split_files(data_files: object, split: str) -> object:
    """The `data_files` entry of one split (data_files may be a mapping, list or string)."""
    if isinstance(data_files, Mapping):
        return data_files.get(split)
    return data_files


def is_local_path(dataset_path: str | None, data_files: object) -> bool:
    """True when the data sits on a filesystem the task author had, not on the hub."""
    if dataset_path and (os.path.isabs(dataset_path) or dataset_path.startswith((".", "~"))):
        return True
    return any(os.path.isabs(f) for f in _flatten(data_files))


def _flatten(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f for v in value.values() for f in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in _flatten(v)]
    return []
