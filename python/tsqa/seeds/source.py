"""A spec's seed, resolved to what will be read: dataset, config, revision, split, files.

Pure: no I/O beyond expanding file globs. The guard (guard.py) decides whether it may be read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tsqa.seeds.catalog import Catalog
from tsqa.seeds.errors import EvalSplitRefused, SeedError
from tsqa.spec.models import FilesSeed, HfSeed, LmEvalSeed, TaskSpec

SeedKind = Literal["lm_eval", "files", "hf"]
FileFormat = Literal["jsonl", "json", "parquet"]
_SUFFIX_FORMAT: dict[str, FileFormat] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}


@dataclass(frozen=True, slots=True)
class ResolvedSeed:
    """What one spec's seed reads. `files` are set for file seeds only."""

    kind: SeedKind
    task: str
    split: str
    dataset_path: str | None = None
    dataset_name: str | None = None
    revision: str | None = None
    lm_eval_task: str | None = None
    files: tuple[str, ...] = ()
    file_format: FileFormat | None = None
    data_files: Any = None  # lm-eval dataset_kwargs.data_files (hub loading)

    @property
    def identity(self) -> dict[str, Any]:
        """What makes two seeds the same snapshot (tasks sharing data share it)."""
        if self.kind == "files":
            return {"kind": "files", "task": self.task, "files": list(self.files), "split": self.split}
        return {
            "kind": "dataset",
            "path": self.dataset_path,
            "name": self.dataset_name,
            "revision": self.revision,
            "split": self.split,
            "data_files": self.data_files,
        }

    @property
    def store_key(self) -> str:
        """A readable, filesystem-safe folder name for the snapshot, unique per identity."""
        digest = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()[:12]
        if self.kind == "files":
            label = f"files--{self.task}"
        else:
            label = "--".join(p for p in (self.dataset_path, self.dataset_name, self.split) if p)
        return re.sub(r"[^A-Za-z0-9._-]+", "_", label)[:80] + "--" + digest

    @property
    def source(self) -> str:
        """One line naming the data, for messages and SeedMeta.source."""
        if self.kind == "files":
            return "files:" + ",".join(self.files)
        # Not the task name: tasks reading the same data share the snapshot and its source.
        name = f"{self.dataset_path}" + (f":{self.dataset_name}" if self.dataset_name else "")
        return f"hf:{name}@{self.split}"


def resolve_seed(spec: TaskSpec, catalog: Catalog) -> ResolvedSeed:
    """The spec's seed without touching files (file seeds keep their patterns as written)."""
    seed = spec.seed
    if isinstance(seed, LmEvalSeed):
        info = catalog.get(seed.lm_eval)
        if info is None:
            raise SeedError(f"task {spec.task!r}: lm-eval has no task {seed.lm_eval!r}")
        split = seed.split or info.training_split
        if split is None:
            # Only eval (or few-shot) data: refused, as the guard would.
            raise EvalSplitRefused(f"task {spec.task!r}: lm-eval task {seed.lm_eval!r} declares no training split")
        kwargs = (info.rules.dataset_kwargs if info.rules else None) or {}
        data_files = kwargs.get("data_files")
        return ResolvedSeed(
            kind="lm_eval",
            task=spec.task,
            split=split,
            dataset_path=info.dataset_path,
            dataset_name=info.dataset_name,
            revision=kwargs.get("revision"),
            lm_eval_task=info.name,
            data_files=data_files.get(split) if isinstance(data_files, dict) else data_files,
        )
    if isinstance(seed, HfSeed):
        hf = seed.hf
        return ResolvedSeed(
            kind="hf", task=spec.task, split=hf.split, dataset_path=hf.path, dataset_name=hf.name, revision=hf.revision
        )
    assert isinstance(seed, FilesSeed)
    files = (seed.files,) if isinstance(seed.files, str) else tuple(seed.files)
    return ResolvedSeed(kind="files", task=spec.task, split=seed.split, files=files, file_format=seed.file_format)


def expand_files(seed: ResolvedSeed, spec_dir: Path) -> list[tuple[Path, FileFormat]]:
    """The files of a file seed (globs expanded, relative to the spec), each with its format."""
    out: list[tuple[Path, FileFormat]] = []
    for pattern in seed.files:
        full = spec_dir / pattern
        matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True)) if glob.has_magic(pattern) else [full]
        if not matches or not matches[0].exists():
            what = "no file matches" if glob.has_magic(pattern) else "file not found:"
            raise SeedError(f"task {seed.task!r}: {what} {full}")
        for path in matches:
            out.append((path, seed.file_format or file_format(path)))
    return out


def file_format(path: Path) -> FileFormat:
    fmt = _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise SeedError(
            f"{path}: unknown file format {path.suffix!r}; use .jsonl, .json or .parquet, or set seed.file_format"
        )
    return fmt
