"""`output.store`: the run directory mirrored to an object-store path through `pyarrow.fs`
(`s3://bucket/runs/x`, `gs://…`, `abfs://…`, `hdfs://…`, `file:///shared/runs/x`).

    store = RunStore.open("s3://bucket/runs/x")
    store.pull(run_dir)       # before apply: finished work another machine published
    store.push(run_dir)       # after apply (also a failed one): what this run finished

The run directory (`output.dir`) stays the working copy on local disk: its lock is an flock and
its response cache a SQLite database, neither of which an object store can hold. The store gets
the same layout and the same bytes for everything else (shards, manifests, datasets, blend,
state, report, dedup index), so a run is read from the store exactly as from a local run
directory, and `tsqa apply` on another machine with an empty `output.dir` pulls it and resumes.

Order keeps the store's rule the local one: in every folder the shards go first and
`manifest.json` (and the run's `blend.json`, `state.json`) last, so a stage folder with a manifest
is complete there too. A file is uploaded to a temporary name and moved into place; a file the
other side already has with the same size is skipped (shards are immutable once named; a
manifest or state file that changed is rewritten because its size or content differs).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

LOCAL_ONLY = ("apply.lock", "cache")
"""Top-level names that never leave the machine (the lock, the SQLite response cache)."""
LAST = ("manifest.json", "blend.json", "state.json")
"""Written after everything else in their folder: their presence means the rest is complete."""
_CHUNK = 8 << 20


class StoreError(Exception):
    """The store URI cannot be used (bad scheme, no credentials, unreachable); the message says which."""


@dataclass(frozen=True)
class RunStore:
    fs: Any
    root: str
    uri: str

    @classmethod
    def open(cls, uri: str) -> RunStore:
        try:
            fs, root = pafs.FileSystem.from_uri(uri)
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise StoreError(f"output.store {uri!r} cannot be opened through pyarrow.fs: {exc}") from None
        return cls(fs, root.rstrip("/"), uri)

    # -- the two directions ----------------------------------------------------------------------

    def push(self, run_dir: Path) -> int:
        """Upload what the store lacks or holds differently; returns the number of files written."""
        written = 0
        for rel in _ordered(_local_files(run_dir)):
            local = run_dir / rel
            remote = self._path(rel)
            info = self.fs.get_file_info(remote)
            if info.type == pafs.FileType.File and info.size == local.stat().st_size and not _mutable(rel):
                continue
            data = local.read_bytes() if _mutable(rel) else None
            if data is not None and info.type == pafs.FileType.File and self._read(remote) == data:
                continue
            self._upload(local, remote)
            written += 1
        return written

    def pull(self, run_dir: Path) -> int:
        """Download what the local run directory lacks (never overwrites local files: the local
        copy is the newer one whenever both exist); returns the number of files fetched."""
        fetched = 0
        for rel in _ordered(self._remote_files()):
            local = run_dir / rel
            if local.exists():
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".tmp-pull-{local.name}")
            with self.fs.open_input_stream(self._path(rel)) as source, tmp.open("wb") as sink:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
            tmp.replace(local)
            fetched += 1
        return fetched

    # -- internals ---------------------------------------------------------------------------------

    def _path(self, rel: str) -> str:
        return posixpath.join(self.root, rel) if self.root else rel

    def _read(self, remote: str) -> bytes:
        with self.fs.open_input_stream(remote) as source:
            data: bytes = source.read()
        return data

    def _upload(self, local: Path, remote: str) -> None:
        parent = posixpath.dirname(remote)
        if parent:
            self.fs.create_dir(parent, recursive=True)
        tmp = posixpath.join(parent, f".tmp-push-{posixpath.basename(remote)}")
        with local.open("rb") as source, self.fs.open_output_stream(tmp) as sink:
            while chunk := source.read(_CHUNK):
                sink.write(chunk)
        self.fs.move(tmp, remote)

    def _remote_files(self) -> Iterator[str]:
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        prefix = self.root.rstrip("/") + "/" if self.root else ""
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            rel = info.path.removeprefix(prefix)
            if _published(rel):
                yield rel


def _local_files(run_dir: Path) -> Iterator[str]:
    if not run_dir.is_dir():
        return
    for path in run_dir.rglob("*"):
        if path.is_file():
            rel = path.relative_to(run_dir).as_posix()
            if _published(rel):
                yield rel


def _published(rel: str) -> bool:
    parts = rel.split("/")
    return parts[0] not in LOCAL_ONLY and not any(p.startswith(".tmp") for p in parts)


def _mutable(rel: str) -> bool:
    """Files rewritten in place by later applies (shards never are: a new fingerprint is a new folder)."""
    return posixpath.basename(rel) in LAST or not rel.endswith(".parquet")


def _ordered(files: Iterator[str]) -> list[str]:
    """Shards before the manifest of their folder; the run-level blend and state after everything."""
    return sorted(files, key=lambda rel: (posixpath.basename(rel) in LAST, rel.count("/") == 0, rel))
