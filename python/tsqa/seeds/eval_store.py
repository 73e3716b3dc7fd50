"""Eval texts for decontamination: the one place tsqa reads validation and test splits.

They are read only to be searched, never to seed: `tsqa seeds fetch-eval` stores each eval split
as plain `text` rows (every string field of a record, joined) in the eval store, a folder beside
the seed store that no seed reader opens. `tsqa apply` builds its n-gram contamination index from
every eval split found there, so the outputs of one task are checked against the eval data of all.

    <project>/.tsqa/eval/<dataset key>/<split>.parquet     id, text
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.seeds.catalog import Catalog
from tsqa.seeds.errors import SeedError
from tsqa.seeds.local_data import data_dir_from_env, dataset_folder, split_files
from tsqa.seeds.readers.files import read_files
from tsqa.seeds.readers.hub import read_hub_split
from tsqa.spec.models import LmEvalSeed, Project, TaskSpec
from tsqa.store.shards import write_shard


@dataclass(frozen=True)
class EvalSplit:
    key: str
    split: str
    rows: int | None
    """None: the local data folder has no file for this split (skipped)."""


class EvalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_project(cls, project_file: Path, project: Project) -> EvalStore:
        return cls((project_file.parent / project.seed_store).parent / "eval")

    def splits(self) -> list[Path]:
        return sorted(self.root.glob("*/*.parquet")) if self.root.is_dir() else []

    def texts(self) -> tuple[list[str], list[str]]:
        """(ids, texts) of every stored eval record."""
        ids: list[str] = []
        texts: list[str] = []
        for path in self.splits():
            table = pq.read_table(path, columns=["id", "text"])
            ids += table.column("id").to_pylist()
            texts += table.column("text").to_pylist()
        return ids, texts

    def write(self, key: str, split: str, table: pa.Table) -> EvalSplit:
        folder = self.root / key
        texts = [_record_text(row) for row in table.to_pylist()]
        out = pa.table({"id": [f"{key}:{split}:{i}" for i in range(len(texts))], "text": texts})
        tmp_folder = folder / f".{split}"
        shard, _ = write_shard(tmp_folder, 0, out)
        shard.replace(folder / f"{split}.parquet")
        tmp_folder.rmdir()
        return EvalSplit(key, split, len(texts))


def fetch_eval(
    spec: TaskSpec, catalog: Catalog, store: EvalStore, *, spec_dir: Path, data_dir: Path | None = None
) -> list[EvalSplit]:
    """Store the eval splits of an lm-eval seed's task (other seed kinds declare `eval_files`)."""
    seed = spec.seed
    if not isinstance(seed, LmEvalSeed):
        return []
    info = catalog.get(seed.lm_eval)
    if info is None or info.dataset_path is None:
        raise SeedError(f"task {spec.task!r}: lm-eval has no dataset for {seed.lm_eval!r}")
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{info.dataset_path}:{info.dataset_name or ''}").strip("_")
    data_dir = data_dir or data_dir_from_env()
    folder = dataset_folder(data_dir, info.dataset_path, info.dataset_name) if data_dir else None
    stored = []
    for split in sorted(info.eval_splits):
        if folder is not None:
            try:
                files = split_files(folder, split)
            except SeedError:
                stored.append(EvalSplit(key, split, None))
                continue
            table = read_files(files, None)
        else:
            table = read_hub_split(info.dataset_path, info.dataset_name, split)
        stored.append(store.write(key, split, table))
    return stored


def _record_text(value: Any) -> str:
    return " ".join(_strings(value))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []
