"""The project's seed store: one snapshot per distinct seed source (Parquet + meta.json).

    <project>/.tsqa/seeds/<store key>/data.parquet   the training rows, as at the source
    <project>/.tsqa/seeds/<store key>/meta.json      where they came from (SeedMeta and more)

`tsqa seeds fetch` writes it; `plan` and `apply` read it, offline. Tasks that read the same data
(same dataset, config, revision and split) share one snapshot.

meta.json records the snapshot's content hash and the eval records its rows were checked against
(content.py). `meta` and `read` verify before anything uses the snapshot: a snapshot replaced by
hand is refused (content hash), and its rows are compared with the current eval store again (a
store grown since the fetch, or a meta.json written by hand, cannot let eval rows through).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa import __version__
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.content import ContentReport, EvalRecords, check_rows, fingerprint
from tsqa.seeds.errors import ContentRefused, SeedDataError, SeedNotFetched
from tsqa.seeds.eval_store import EvalStore
from tsqa.seeds.guard import check_training_only
from tsqa.seeds.readers.files import WHERE_COLUMN, count_rows
from tsqa.seeds.source import ResolvedSeed, expand_files, resolve_seed
from tsqa.spec.models import FilesSeed, Project, TaskSpec

META_FILE = "meta.json"
DATA_FILE = "data.parquet"
META_FORMAT = 2  # 2: content hash and eval check recorded
MAX_LISTED = 1000  # refused rows listed in meta.json


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
        """The verified snapshot's metadata; None when the spec's seed was not fetched.

        Raises ContentRefused when the snapshot is not what fetch wrote or holds eval rows."""
        seed = resolve_seed(spec, load_catalog())
        raw = self.raw_meta(seed)
        if raw is None:
            return None
        self.verify(seed, raw, spec)
        _check_meta(self.folder(seed) / META_FILE, raw)
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
        try:
            os.lstat(self.root)
        except FileNotFoundError:  # no store yet: no snapshot in it (one system call, not four)
            return None
        except OSError:
            pass  # unreadable: the checks below name the snapshot's path
        path = self.folder(seed) / META_FILE
        _check_not_linked(seed, self.folder(seed))  # before reading: meta.json → /dev/zero never ends
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON, a 5000-digit int
            what = str(err).split(";")[0] if str(err) else type(err).__name__
            raise SeedDataError(f"{path}: unreadable seed metadata ({what}); run `tsqa seeds fetch --force`") from None
        if not isinstance(raw, dict):
            raise SeedDataError(f"{path}: unreadable seed metadata (not an object); run `tsqa seeds fetch --force`")
        return raw if raw.get("identity") == seed.identity else None

    @property
    def eval_root(self) -> Path:
        """The project's eval store (beside the seed store, as EvalStore.for_project)."""
        return self.root.parent / "eval"

    def verify(self, seed: ResolvedSeed, raw: dict[str, Any], spec: TaskSpec | None = None) -> None:
        """The snapshot is the one fetch wrote (content hash), and none of its rows is an eval row
        of the current eval store; with `spec`, nor what the spec's field templates build from
        its rows (fetch's verdict holds for the templates it rendered, recorded in `rendered_by`;
        a spec whose templates changed since, or another spec sharing the snapshot, is compared
        again, once per process)."""
        self._verify_rows(seed, raw)
        if spec is not None:
            self._verify_rendered(seed, raw, spec)

    def _verify_rendered(self, seed: ResolvedSeed, raw: dict[str, Any], spec: TaskSpec) -> None:
        from tsqa.seeds.content import eval_store_records
        from tsqa.seeds.rendered import render_fingerprint

        rendered_by = (raw.get("eval_check") or {}).get("rendered_by") or []
        if self._verdict_current(raw) and render_fingerprint(spec) in rendered_by:
            return
        evals = eval_store_records(self.eval_root)
        if not evals:
            return
        path = self.folder(seed) / DATA_FILE
        report = _recheck(str(path), str(raw.get("content_sha256")), fingerprint(evals), tuple(evals), spec)
        if report.matches:
            raise ContentRefused(
                f"task {seed.task!r}: {path}: what the spec's fields build from the snapshot: {report.summary()}; "
                "change the spec's fields, or run `tsqa seeds fetch --force`"
            )

    def _verdict_current(self, raw: dict[str, Any]) -> bool:
        """Fetch's "no eval rows" verdict was computed on this snapshot and this eval store."""
        checked = raw.get("eval_check")
        return (
            isinstance(checked, dict)
            and checked.get("verdict") == "no eval rows"
            and checked.get("content_sha256") == raw.get("content_sha256")
            and checked.get("eval_store") == EvalStore(self.eval_root).fingerprint()
        )

    def _verify_rows(self, seed: ResolvedSeed, raw: dict[str, Any]) -> None:
        from tsqa.seeds.content import eval_store_records

        path = self.folder(seed) / DATA_FILE
        _check_not_linked(seed, self.folder(seed))
        expected = raw.get("content_sha256")
        if raw.get("format") != META_FORMAT or not isinstance(expected, str):
            raise ContentRefused(
                f"task {seed.task!r}: {path.parent / META_FILE}: snapshot written by an older tsqa (no content hash); "
                "run `tsqa seeds fetch --force`"
            )
        try:
            stat = path.stat()
        except OSError as err:
            raise SeedDataError(
                f"{path}: unreadable seed snapshot ({err.strerror}); run `tsqa seeds fetch --force`"
            ) from None
        if _file_sha256(path, stat.st_size, stat.st_mtime_ns, stat.st_ino) != expected:
            raise ContentRefused(
                f"task {seed.task!r}: {path}: the snapshot is not the one `tsqa seeds fetch` wrote "
                "(content hash differs: replaced or edited by hand); run `tsqa seeds fetch --force`"
            )
        checked = raw.get("eval_check")
        recorded = checked.get("fingerprint") if isinstance(checked, dict) else None
        # The verdict fetch recorded holds while the eval store's files and the snapshot are the
        # ones it was computed on: no row is compared again (plan stays fast). Otherwise every row
        # is compared with the current eval store (cached per process).
        if self._verdict_current(raw):
            return
        evals = eval_store_records(self.eval_root)
        if not evals:
            # Nothing to compare with now; a snapshot checked against an eval store that has since
            # gone (or never recorded one) is refused rather than trusted. meta.json is plain text:
            # a local user who rewrites it and the eval store together is not stopped (README).
            if recorded != fingerprint([]):
                raise ContentRefused(
                    f"task {seed.task!r}: {path.parent / META_FILE}: the snapshot was checked against an eval "
                    "store that is no longer there; run `tsqa seeds fetch-eval` again, or `tsqa seeds fetch --force`"
                )
            return
        report = _recheck(str(path), expected, fingerprint(evals), tuple(evals))
        if report.matches:
            raise ContentRefused(f"task {seed.task!r}: {path}: {report.summary()}; run `tsqa seeds fetch --force`")

    def read(self, spec: TaskSpec, limit: int | None = None) -> pa.Table:
        """The fetched training rows: at most `limit`, or the spec's `seed.limit` when None."""
        catalog = load_catalog()
        seed = resolve_seed(spec, catalog)
        check_training_only(seed, catalog)  # a store written by hand cannot smuggle eval data in
        raw = self.raw_meta(seed)
        if raw is None:
            raise SeedNotFetched(
                f"task {spec.task!r}: seed {seed.source} is not in the seed store {self.root}; run `tsqa seeds fetch`"
            )
        self.verify(seed, raw, spec)
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
        report: ContentReport | None = None,
        evals: list[EvalRecords] | None = None,
        rendered_by: str | None = None,
    ) -> SeedMeta:
        """Store a snapshot atomically (a crash leaves the old one or none, never half of one).

        `report`: the content check of the rows (its matching rows are already dropped from
        `table`); `evals`: the eval records it ran against; `rendered_by`: the render fingerprint
        of the templates whose texts it compared too (`rendered.render_fingerprint`)."""
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
            "columns": [c for c in table.column_names if c != WHERE_COLUMN],
            "license": license,
            "license_source": license_source,
            "fingerprint": fingerprint,  # file seeds: files, sizes, mtimes at fetch time
            "eval_check": {
                "fingerprint": _store_fingerprint(self.eval_root),
                # The verdict of this check, bound to the eval store's files (by content) and to
                # the snapshot's hash: plan and apply trust it while both are unchanged, instead of
                # comparing every row again (see verify).
                "eval_store": EvalStore(self.eval_root).fingerprint(),
                "verdict": "no eval rows",
                "rendered_by": [rendered_by] if rendered_by else [],
                "sources": report.sources if report else [],
                "refused_rows": len(report.matches) if report else 0,
                "refused": [m.line() for m in report.matches[:MAX_LISTED]] if report else [],
            },
            "tsqa_version": __version__,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self.root))
        try:
            pq.write_table(table, tmp / DATA_FILE, compression="zstd")
            meta["content_sha256"] = _sha256(tmp / DATA_FILE)
            meta["eval_check"]["content_sha256"] = meta["content_sha256"]
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            target = self.folder(seed)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return SeedMeta(
            rows=table.num_rows,
            columns=tuple(c for c in table.column_names if c != WHERE_COLUMN),
            revision=seed.revision,
            license=license,
            source=seed.source,
            split=seed.split,
            fetched_at=meta["fetched_at"],
        )


_META_TYPES: dict[str, type | tuple[type, ...]] = {"source": str, "split": str, "fetched_at": str, "columns": list}


def _check_meta(path: Path, raw: dict[str, Any]) -> None:
    """A meta.json damaged or edited by hand (its keys are not covered by the content hash) is an
    error naming the key, not a row count of NaN, -5 or `true` used by plan."""
    rows = raw.get("rows")
    if type(rows) is not int or not 1 <= rows <= 2**53:
        raise SeedDataError(
            f"{path}: key 'rows' must be a row count (a whole number ≥ 1), found {str(rows)[:40]!r}; "
            "the snapshot is damaged: run `tsqa seeds fetch --force`"
        )
    for key, kind in _META_TYPES.items():
        if not isinstance(raw.get(key), kind):
            raise SeedDataError(
                f"{path}: key {key!r} is missing or of the wrong type; the snapshot is damaged: "
                "run `tsqa seeds fetch --force`"
            )
    if not all(isinstance(c, str) for c in raw["columns"]):
        raise SeedDataError(f"{path}: key 'columns' must list column names; run `tsqa seeds fetch --force`")


def _check_not_linked(seed: ResolvedSeed, folder: Path) -> None:
    """A snapshot is the folder fetch wrote: not a symlink to other data, and its files neither
    symlinks nor hard links (whose other names could be anything, eval files included)."""
    for path in (folder, folder / DATA_FILE, folder / META_FILE):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as err:
            raise SeedDataError(
                f"{path}: unreadable seed snapshot ({err.strerror}); run `tsqa seeds fetch --force`"
            ) from None
        if stat.S_ISLNK(st.st_mode) or (path != folder and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1)):
            what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a plain file of its own"
            raise ContentRefused(
                f"task {seed.task!r}: {path}: the snapshot is {what}, not what `tsqa seeds fetch` wrote; "
                "run `tsqa seeds fetch --force`"
            )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=256)
def _file_sha256(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    """Hash of a snapshot, once per process per (path, size, mtime, inode)."""
    return _sha256(path)


def _store_fingerprint(eval_root: Path) -> str:
    from tsqa.seeds.content import eval_store_records

    return fingerprint(eval_store_records(eval_root))


_RECHECKED: dict[tuple[str, str, str, str | None], ContentReport] = {}


def _recheck(
    path: str,
    content_sha256: str,
    eval_fingerprint: str,
    evals: tuple[EvalRecords, ...],
    spec: TaskSpec | None = None,
) -> ContentReport:
    """The content check of a snapshot (with what `spec`'s templates build from its rows, when
    given), once per process per (snapshot, content, eval records, templates)."""
    from tsqa.seeds.rendered import render_fingerprint, rendered_texts

    key = (path, content_sha256, eval_fingerprint, render_fingerprint(spec) if spec is not None else None)
    if key not in _RECHECKED:
        renderer = partial(rendered_texts, spec, load_catalog()) if spec is not None else None
        _RECHECKED[key] = check_rows(pq.read_table(path), list(evals), renderer)
    return _RECHECKED[key]


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
    from tsqa.seeds.guard_memo import roots_around
    from tsqa.seeds.load import _guarded

    files = _guarded(seed.task, expand_files(seed, spec_dir), roots_around(spec_dir))
    rows = sum(count_rows(path, fmt) for path, fmt in files)
    return rows if spec.seed.limit is None else min(rows, spec.seed.limit)
