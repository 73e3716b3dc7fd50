"""`read_split`: the single entry point that reads seed rows from their source.

Every read — `tsqa seeds fetch`, tests, the benchmarks — goes through here, and here the guard
runs before any byte is read. The readers in `readers/` are not meant to be called directly.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

import pyarrow as pa

from tsqa.seeds.catalog import Catalog, load_catalog
from tsqa.seeds.guard import check_training_only
from tsqa.seeds.local_data import data_dir_from_env, dataset_folder, split_files
from tsqa.seeds.readers.files import read_files
from tsqa.seeds.readers.hub import read_hub_split
from tsqa.seeds.source import ResolvedSeed, expand_files


def read_split(
    seed: ResolvedSeed,
    *,
    spec_dir: Path,
    catalog: Catalog | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
) -> pa.Table:
    """The seed's training rows (at most `limit`), as stored at the source.

    File seeds resolve against `spec_dir`. Hub seeds read a local copy when `data_dir` (or
    `TSQA_SEED_DATA_DIR`) has one (see local_data.py), else the hub, training split only.
    Raises EvalSplitRefused for eval data, SeedError/SeedDataError for anything unreadable.
    """
    catalog = catalog or load_catalog()
    if seed.kind == "files":
        check_training_only(seed, catalog)  # the patterns as written, before touching the disk
        files = expand_files(seed, spec_dir)
        # Names as the spec sees them: the absolute prefix (e.g. a pytest tmp dir) is not the user's.
        check_training_only(seed, catalog, [PurePath(os.path.relpath(p, spec_dir)) for p, _ in files])
        return read_files(files, limit)
    check_training_only(seed, catalog)
    assert seed.dataset_path is not None
    data_dir = data_dir or data_dir_from_env()
    folder = dataset_folder(data_dir, seed.dataset_path, seed.dataset_name) if data_dir else None
    if folder is not None:
        return read_files(split_files(folder, seed.split), limit)
    return read_hub_split(
        _hub_or_local(seed.dataset_path, spec_dir),
        seed.dataset_name,
        seed.split,
        revision=seed.revision,
        data_files=seed.data_files,
        limit=limit,
    )


def _hub_or_local(dataset_path: str, spec_dir: Path) -> str:
    """A dataset folder relative to the spec (`hf: {path: ../data}`), else the hub id as given."""
    local = spec_dir / dataset_path
    return str(local) if dataset_path.startswith((".", "/", "~")) or local.is_dir() else dataset_path
