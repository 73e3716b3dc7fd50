"""Snapshot the training split of every spec's seed into the seed store (`tsqa seeds fetch`).

Per spec: resolve the source, apply the licence filter, skip it when the store already holds the
same identity (file seeds: same files, sizes and mtimes) and that snapshot still verifies, else
read through the guard (load.py), compare every row with every eval record the project can see
(content.py), and write the snapshot without the rows that are eval rows, each listed with the eval
record it matches. When more than a small share of rows match, the seed is refused and nothing is
written. A failing spec is reported and the others continue.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from tsqa.seeds.catalog import Catalog, load_catalog
from tsqa.seeds.content import check_rows
from tsqa.seeds.errors import ContentRefused, SeedDataError, SeedError
from tsqa.seeds.guard import check_training_only
from tsqa.seeds.load import read_guarded, visible_evals
from tsqa.seeds.readers.hub import card_license
from tsqa.seeds.rendered import render_fingerprint, rendered_texts
from tsqa.seeds.source import ResolvedSeed, expand_files, resolve_seed
from tsqa.seeds.store import SeedStore
from tsqa.spec.load import LoadedSpec
from tsqa.spec.models import TaskSpec

Outcome = Literal["fetched", "up to date", "skipped", "failed"]


@dataclass(frozen=True)
class FetchResult:
    task: str
    outcome: Outcome
    detail: str  # rows and source, the skip reason, or the error message
    refused: tuple[str, ...] = ()  # one line per seed row refused as an eval row


@dataclass(frozen=True)
class LicenseFilter:
    """Keep seeds whose licence is one of `allowed` (case-insensitive); unknown ones only if asked."""

    allowed: frozenset[str]
    include_unknown: bool = False

    def reason_to_skip(self, license: str | None) -> str | None:
        if license is None:
            return None if self.include_unknown else "licence unknown (set seed.license, or --include-unknown-license)"
        if license.lower() not in self.allowed:
            return f"licence {license} not in --license {', '.join(sorted(self.allowed))}"
        return None


def fetch_specs(
    specs: list[LoadedSpec],
    store: SeedStore,
    *,
    data_dir: Path | None = None,
    licenses: LicenseFilter | None = None,
    force: bool = False,
    catalog: Catalog | None = None,
) -> list[FetchResult]:
    catalog = catalog or load_catalog()
    done: set[str] = set()  # store keys written in this run (tasks sharing data)
    results = []
    for loaded in specs:
        try:
            results.append(_fetch_one(loaded, store, catalog, data_dir, licenses, force, done))
        except SeedError as err:
            ref = loaded.ref(("seed",), prefer_key=True)
            where = f"{ref.file}:{ref.pos.line}:{ref.pos.col}"
            results.append(FetchResult(loaded.spec.task, "failed", f"{where}: {err}", getattr(err, "lines", ())))
    return results


def _fetch_one(
    loaded: LoadedSpec,
    store: SeedStore,
    catalog: Catalog,
    data_dir: Path | None,
    licenses: LicenseFilter | None,
    force: bool,
    done: set[str],
) -> FetchResult:
    spec = loaded.spec
    seed = resolve_seed(spec, catalog)
    check_training_only(seed, catalog)  # refuse before looking anything up online
    license, license_source = spec.seed.license, "spec" if spec.seed.license else None
    if license is None and seed.dataset_path and seed.kind != "files":
        license = card_license(seed.dataset_path)
        license_source = "dataset card" if license else None
    if licenses is not None and (reason := licenses.reason_to_skip(license)):
        return FetchResult(spec.task, "skipped", reason)
    fingerprint = _files_fingerprint(seed, loaded.path.parent) if seed.kind == "files" else None
    try:
        existing = store.raw_meta(seed)
    except SeedDataError:  # a damaged meta.json: fetched again (what its message tells to do)
        existing = None
    if seed.store_key in done:  # written in this run for another spec: compared with this spec's templates
        if existing is not None:
            store.verify(seed, existing, spec)
        return FetchResult(spec.task, "up to date", f"{existing['rows'] if existing else '?'} rows, {seed.source}")
    if (
        existing is not None
        and not force
        and existing.get("fingerprint") == fingerprint
        and _verifies(store, seed, spec)
    ):
        return FetchResult(spec.task, "up to date", f"{existing['rows']} rows, {seed.source}")
    spec_dir = loaded.path.parent
    table = read_guarded(
        seed, spec_dir=spec_dir, catalog=catalog, data_dir=data_dir, eval_files=spec.decontaminate.eval_files
    )
    evals = visible_evals(
        seed, spec_dir=spec_dir, eval_files=list(spec.decontaminate.eval_files), catalog=catalog, data_dir=data_dir
    )
    report = check_rows(table, evals, partial(rendered_texts, spec, catalog) if evals else None)
    lines = tuple(m.line() for m in report.matches)
    if report.refused:
        raise ContentRefusedRows(f"seed {seed.source} refused: {report.summary()}", lines)
    if report.matches:
        keep = [True] * table.num_rows
        for m in report.matches:
            keep[m.row] = False
        table = table.filter(keep)
    meta = store.write(
        seed,
        table,
        license=license,
        license_source=license_source,
        fingerprint=fingerprint,
        report=report,
        rendered_by=render_fingerprint(spec) if evals else None,
        evals=evals,
    )
    done.add(seed.store_key)
    refused = f", {len(report.matches)} rows refused as eval rows" if report.matches else ""
    return FetchResult(
        spec.task, "fetched", f"{meta.rows} rows, {seed.source}, licence {license or 'unknown'}{refused}", lines
    )


class ContentRefusedRows(ContentRefused):
    """Too many seed rows are eval rows; `lines` lists each one."""

    def __init__(self, message: str, lines: tuple[str, ...]) -> None:
        super().__init__(message)
        self.lines = lines


def _verifies(store: SeedStore, seed: ResolvedSeed, spec: TaskSpec) -> bool:
    raw = store.raw_meta(seed)
    if raw is None:
        return False
    try:
        store.verify(seed, raw, spec)
    except SeedError:
        return False
    return True


def _files_fingerprint(seed: ResolvedSeed, spec_dir: Path) -> str:
    """Changes when a file of a file seed is added, removed, resized or touched."""
    parts = []
    for path, _ in expand_files(seed, spec_dir):
        st = path.stat()
        parts.append((os.path.relpath(path, spec_dir), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
