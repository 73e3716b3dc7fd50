"""`read_split`: the single entry point that reads seed rows from their source.

Every read — `tsqa seeds fetch`, plan and apply on unfetched seeds, tests, the benchmarks — goes
through here, and here the guard runs before any byte is read: on the seed as written, then on
every file as it will be opened (resolved path, symlinks, inside the allowed roots), for file
seeds, the local data dir (`sources.json` included) and local hub-style folders alike. The rows
read are then compared with the eval records the project can see (content.py).
The readers in `readers/` are not meant to be called directly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa

from tsqa.seeds.catalog import Catalog, load_catalog
from tsqa.seeds.content import ContentReport, EvalRecords, check_rows
from tsqa.seeds.errors import ContentRefused, SeedDataError, SeedError
from tsqa.seeds.eval_refs import eval_looking_files, read_reference
from tsqa.seeds.guard import (
    SeedRoots,
    check_eval_file,
    check_hub_not_local,
    check_training_only,
    hub_eval_splits,
    is_local_dataset,
)
from tsqa.seeds.guard_memo import guard_path, roots_around
from tsqa.seeds.local_data import INDEX_FILE, data_dir_from_env, dataset_folder, split_files
from tsqa.seeds.names import normal_config, normal_hub_id
from tsqa.seeds.readers.files import read_files
from tsqa.seeds.readers.hub import read_hub_split
from tsqa.seeds.source import FileFormat, ResolvedSeed, expand_files
from tsqa.spec.models import TaskSpec


@dataclass(frozen=True)
class SeedRows:
    """What a read returns before the content check decides: the rows and where they came from."""

    table: pa.Table
    local: bool  # read from local files (the data dir or a folder) rather than the hub


def read_split(
    seed: ResolvedSeed,
    *,
    spec_dir: Path,
    catalog: Catalog | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
    evals: list[EvalRecords] | None = None,
    spec: TaskSpec | None = None,
) -> pa.Table:
    """The seed's training rows (at most `limit`), as stored at the source.

    File seeds resolve against `spec_dir`. Hub seeds read a local copy when `data_dir` (or
    `TSQA_SEED_DATA_DIR`) has one (see local_data.py), else the hub, training split only.
    `evals`: the eval records to compare the rows with; by default those of the project holding
    `spec_dir` (its eval store). Any row that is an eval row refuses the read (ContentRefused):
    `tsqa seeds fetch` drops such rows with a report instead (fetch.py). `spec`: the spec reading
    the rows; what its field templates build from each row is compared too (rendered.py).
    Raises EvalSplitRefused for eval data, SeedError/SeedDataError for anything unreadable.
    """
    table = read_guarded(seed, spec_dir=spec_dir, catalog=catalog, data_dir=data_dir, limit=limit)
    if evals is None:
        evals = project_eval_records(spec_dir)
    rendered = None
    if spec is not None:
        from tsqa.seeds.rendered import rendered_texts

        rendered = partial(rendered_texts, spec, catalog or load_catalog())
    report = check_rows(table, evals, rendered)
    if report.matches:
        raise ContentRefused(f"task {seed.task!r}: {report.summary()}")
    return table


def check_content(table: pa.Table, evals: list[EvalRecords]) -> ContentReport:
    return check_rows(table, evals)


def read_guarded(
    seed: ResolvedSeed,
    *,
    spec_dir: Path,
    catalog: Catalog | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
    eval_files: Sequence[str] = (),
) -> pa.Table:
    """The rows, every path guarded; no content check (callers run it). `eval_files`: the spec's
    declared eval files (`decontaminate.eval_files`): a seed file that *is* one of them (a link or
    a hard link under a training name) is refused before it is read."""
    catalog = catalog or load_catalog()
    data_dir = data_dir or data_dir_from_env()
    around = roots_around(spec_dir, data_dir)
    roots = SeedRoots(around.roots, around.names, tuple(spec_dir / f for f in eval_files))
    check_training_only(seed, catalog)  # the seed as written, before touching the disk
    if seed.kind == "files":
        files = expand_files(seed, spec_dir)
        return read_files(_guarded(seed.task, files, roots), limit)
    assert seed.dataset_path is not None
    if is_local_dataset(seed.dataset_path) or (spec_dir / seed.dataset_path).is_dir():
        folder = _local_folder(seed, spec_dir, roots)
        return read_files(_guarded(seed.task, split_files(folder, seed.split), roots), limit)
    hub_copy = dataset_folder(data_dir, seed.dataset_path, seed.dataset_name) if data_dir else None
    if hub_copy is not None:
        folder = hub_copy
        if data_dir is not None and (data_dir / INDEX_FILE).exists():
            guard_path(seed.task, data_dir / INDEX_FILE, roots)
        guard_path(seed.task, folder, roots)
        return read_files(_guarded(seed.task, split_files(folder, seed.split), roots), limit)
    check_hub_not_local(seed.task, seed.dataset_path, seed.data_files)
    return read_hub_split(
        seed.dataset_path,
        seed.dataset_name,
        seed.split,
        revision=seed.revision,
        data_files=seed.data_files,
        limit=limit,
    )


def _guarded(task: str, files: list[tuple[Path, FileFormat]], roots: SeedRoots) -> list[tuple[Path, FileFormat]]:
    """Every file, guarded on its real path; read through that real path (no later swap). Only
    regular files: a FIFO or a device named `train.jsonl` would block or never end."""
    out = []
    for path, fmt in files:
        real = guard_path(task, path, roots)
        if not real.is_file():
            raise SeedDataError(f"task {task!r}: {path} is not a regular file")
        out.append((real, fmt))
    return out


def _local_folder(seed: ResolvedSeed, spec_dir: Path, roots: SeedRoots) -> Path:
    """`hf: {path: ./folder}`: a folder of split files, guarded. Its own loading scripts and
    README configs are never consulted: only `<split>.<ext>` files (local_data.split_files)."""
    assert seed.dataset_path is not None
    folder = spec_dir / os.path.expanduser(seed.dataset_path)
    if not folder.is_dir():
        raise SeedError(f"task {seed.task!r}: dataset folder {folder} not found")
    return guard_path(seed.task, folder, roots)


def project_eval_records(spec_dir: Path) -> list[EvalRecords]:
    """The eval store of the project holding `spec_dir` (empty when it has none)."""
    from tsqa.seeds.eval_store import EvalStore
    from tsqa.seeds.guard import PROJECT_FILE, project_roots
    from tsqa.spec.load import load_project

    project_dir, _ = project_roots(spec_dir)
    project_file = project_dir / PROJECT_FILE
    if not project_file.is_file():
        return []
    loaded, _ = load_project(project_file)
    if loaded is None:
        return []
    return EvalStore.for_project(project_file, loaded.project).records()


def visible_evals(
    seed: ResolvedSeed,
    *,
    spec_dir: Path,
    eval_files: list[str],
    catalog: Catalog,
    data_dir: Path | None,
    store_records: list[EvalRecords] | None = None,
) -> list[EvalRecords]:
    """Every eval record the project can see for this seed: the eval store, the spec's declared
    eval files, and the eval splits of the same dataset in the data dir (or its local folder)."""
    out = list(store_records if store_records is not None else project_eval_records(spec_dir))
    for name in eval_files:
        path = check_eval_file(seed.task, spec_dir, name)  # inside the project, a regular file
        if path.is_file():
            out.append(read_reference(path, f"eval file {name}"))
    data_dir = data_dir or data_dir_from_env()
    folder: Path | None = None
    if seed.kind != "files" and seed.dataset_path:
        if is_local_dataset(seed.dataset_path) or (spec_dir / seed.dataset_path).is_dir():
            folder = spec_dir / seed.dataset_path
        elif data_dir is not None:
            try:
                folder = dataset_folder(data_dir, seed.dataset_path, seed.dataset_name)
            except SeedError:
                folder = None
    # Every eval-looking file of the data dir and the dataset's folder: read, or the fetch fails
    # (eval_refs.py): a file the check cannot read must not silently be no reference at all.
    if data_dir is not None or (folder is not None and folder.is_dir()):
        splits = _dataset_eval_splits(seed, catalog) if seed.kind != "files" and seed.dataset_path else frozenset()
        root = data_dir or folder
        assert root is not None
        for path in eval_looking_files(root, splits, folder):
            where = seed.dataset_path if folder is not None and path.is_relative_to(folder) else None
            out.append(read_reference(path, f"{where} {path.name}" if where else f"data dir {path.relative_to(root)}"))
    return out


def _dataset_eval_splits(seed: ResolvedSeed, catalog: Catalog) -> frozenset[str]:
    assert seed.dataset_path is not None
    splits = hub_eval_splits(catalog, normal_hub_id(seed.dataset_path), normal_config(seed.dataset_name))
    info = catalog.get(seed.lm_eval_task or "") if seed.lm_eval_task else None
    return splits | (info.eval_splits if info is not None else frozenset())
