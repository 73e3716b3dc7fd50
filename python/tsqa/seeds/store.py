"""The project's seed store: one snapshot per distinct seed source (Parquet + meta.json).

    <project>/.tsqa/seeds/<store key>/data.parquet   the training rows, as at the source
    <project>/.tsqa/seeds/<store key>/meta.json      where they came from (SeedMeta and more)

`tsqa seeds fetch` writes it; `plan` and `apply` read it, offline. Tasks that read the same data
(same dataset, config, revision and split) share one snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa import __version__
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.errors import SeedDataError, SeedNotFetched
from tsqa.seeds.guard import check_training_only
from tsqa.seeds.readers.files import count_rows
from tsqa.seeds.source import ResolvedSeed, expand_files, resolve_seed
from tsqa.spec.models import FilesSeed, Project, TaskSpec

META_FILE = "meta.json"
DATA_FILE = "data.parquet"
META_FORMAT = 1


@dataclass(frozen=True)
class SeedMeta:
    """What the store knows about one fetched seed."""

    rows: int
    columns: tuple[str, ...]
    revision: str | None
    license: str | None
    source: str
    split: str
    fetched_at: str


class SeedStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_project(cls, project_file: Path, project: Project) -> SeedStore:
        """The store named by tsqa.yaml's `seed_store`, relative to the project file."""
        return cls(project_file.parent / project.seed_store)

    def folder(self, seed: ResolvedSeed) -> Path:
        return self.root / seed.store_key

    # -- reading -----------------------------------------------------------------------------
    def meta(self, spec: TaskSpec) -> SeedMeta | None:
        """The snapshot's metadata; None when the spec's seed was not fetched."""
        raw = self.raw_meta(resolve_seed(spec, load_catalog()))
        if raw is None:
            return None
        return SeedMeta(
            rows=raw["rows"],
            columns=tuple(raw["columns"]),
            revision=raw.get("revision"),
            license=raw.get("license"),
            source=raw["source"],
            split=raw["split"],
            fetched_at=raw["fetched_at"],
        )

    def raw_meta(self, seed: ResolvedSeed) -> dict[str, Any] | None:
        path = self.folder(seed) / META_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as err:
            raise SeedDataError(f"{path}: unreadable seed metadata ({err}); run `tsqa seeds fetch --force`") from None
        return raw if raw.get("identity") == seed.identity else None

    def read(self, spec: TaskSpec, limit: int | None = None) -> pa.Table:
        """The fetched training rows: at most `limit`, or the spec's `seed.limit` when None."""
        catalog = load_catalog()
        seed = resolve_seed(spec, catalog)
        check_training_only(seed, catalog)  # a store written by hand cannot smuggle eval data in
        if self.raw_meta(seed) is None:
            raise SeedNotFetched(
                f"task {spec.task!r}: seed {seed.source} is not in the seed store {self.root}; run `tsqa seeds fetch`"
            )
        limit = limit if limit is not None else spec.seed.limit
        path = self.folder(seed) / DATA_FILE
        try:
            if limit is None:
                return pq.read_table(path)
            pf = pq.ParquetFile(path)
            return pa.Table.from_batches(list(_first_batches(pf, limit)), schema=pf.schema_arrow).slice(0, limit)
        except (OSError, pa.ArrowException) as err:
            raise SeedDataError(f"{path}: unreadable seed snapshot ({err}); run `tsqa seeds fetch --force`") from None

    # -- writing -----------------------------------------------------------------------------
    def write(
        self,
        seed: ResolvedSeed,
        table: pa.Table,
        *,
        license: str | None,
        license_source: str | None,
        fingerprint: str | None = None,
    ) -> SeedMeta:
        """Store a snapshot atomically (a crash leaves the old one or none, never half of one)."""
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": META_FORMAT,
            "identity": seed.identity,
            "source": seed.source,
            "dataset_path": seed.dataset_path,
            "dataset_name": seed.dataset_name,
            "files": list(seed.files) or None,
            "revision": seed.revision,
            "split": seed.split,
            "rows": table.num_rows,
            "columns": table.column_names,
            "license": license,
            "license_source": license_source,
            "fingerprint": fingerprint,  # file seeds: files, sizes, mtimes at fetch time
            "tsqa_version": __version__,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self.root))
        try:
            pq.write_table(table, tmp / DATA_FILE, compression="zstd")
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            target = self.folder(seed)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return SeedMeta(
            rows=table.num_rows,
            columns=tuple(table.column_names),
            revision=seed.revision,
            license=license,
            source=seed.source,
            split=seed.split,
            fetched_at=meta["fetched_at"],
        )


def _first_batches(pf: pq.ParquetFile, limit: int) -> Any:
    for batch in pf.iter_batches(batch_size=min(limit, 65_536)):
        yield batch
        limit -= batch.num_rows
        if limit <= 0:
            return


def seed_rows_without_fetch(spec: TaskSpec, spec_dir: Path) -> int | None:
    """Row count of a file seed from the files themselves (Parquet footers, JSONL lines), capped
    by `seed.limit`; None for lm_eval/hf seeds, whose size is known only after a fetch."""
    if not isinstance(spec.seed, FilesSeed):
        return None
    catalog = load_catalog()
    seed = resolve_seed(spec, catalog)
    check_training_only(seed, catalog)
    files = expand_files(seed, spec_dir)
    check_training_only(seed, catalog, [Path(os.path.relpath(p, spec_dir)) for p, _ in files])
    rows = sum(count_rows(path, fmt) for path, fmt in files)
    return rows if spec.seed.limit is None else min(rows, spec.seed.limit)
