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
is complete there too. A file is uploaded to a temporary name and moved into place.

A file is skipped only when the store provably holds the same bytes: same-size files are not the
same file (`datasets/<task>/part-*.parquet` is rewritten in place by every apply, and a repaired
shard keeps its size). The store's `.tsqa-digests.json` records each published file's size,
sha256 and the store's modification time after upload; a file whose local digest matches and whose
remote entry is untouched since is skipped, any other same-size file is read back and compared.

Opening a store probes it with a bounded timeout: an unreachable endpoint (no network, a
firewalled bucket) is an error naming the store, never an apply that hangs.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

LOCAL_ONLY = ("apply.lock", "cache")
"""Top-level names that never leave the machine (the lock, the SQLite response cache)."""
LAST = ("manifest.json", "blend.json", "state.json")
"""Written after everything else in their folder: their presence means the rest is complete."""
DIGESTS = ".tsqa-digests.json"
"""Store-side record of what was pushed: {rel: [size, sha256, mtime_ns]}; never pulled."""
PROBE_TIMEOUT_S = 30.0
"""How long opening a store may take before it counts as unreachable."""
_CHUNK = 8 << 20


class StoreError(Exception):
    """The store URI cannot be used (bad scheme, no credentials, unreachable); the message says which."""


@dataclass(frozen=True)
class RunStore:
    fs: Any
    root: str
    uri: str

    @classmethod
    def open(cls, uri: str, *, timeout_s: float | None = None) -> RunStore:
        if uri.startswith("mock:"):
            raise StoreError(
                f"output.store {uri!r} is pyarrow's in-memory test filesystem: what is pushed there "
                "vanishes when apply exits; use a shared path (file://…) or an object store"
            )
        try:
            fs, root = _bounded(lambda: _filesystem(uri), uri, timeout_s)
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise StoreError(f"output.store {uri!r} cannot be opened through pyarrow.fs: {exc}") from None
        store = cls(fs, root.rstrip("/"), uri)
        store.probe(timeout_s)
        return store

    def probe(self, timeout_s: float | None = None) -> None:
        """One round trip to the store, bounded: pyarrow's own retries (GCS: 15 min) would hang apply."""
        try:
            _bounded(lambda: self.fs.get_file_info(self.root or "/"), self.uri, timeout_s)
        except OSError as exc:
            raise StoreError(f"output.store {self.uri!r} is unreachable: {exc}") from None

    def refuse_overlap(self, run_dir: Path) -> None:
        """A `file://` store inside `output.dir` (or holding it) would copy into itself on every push
        and pull foreign files back; the same folder is fine (nothing to copy)."""
        if not isinstance(self.fs, pafs.LocalFileSystem):
            return
        store, local = Path(self.root or "/").resolve(), run_dir.resolve()
        if store != local and (store.is_relative_to(local) or local.is_relative_to(store)):
            inside = "inside" if store.is_relative_to(local) else "around"
            raise StoreError(
                f"output.store {self.uri!r} is {inside} output.dir {str(local)!r}: a push would copy the "
                "run into itself; use a folder outside the run directory (or the run directory itself)"
            )

    # -- the two directions ----------------------------------------------------------------------

    def push(self, run_dir: Path) -> int:
        """Upload what the store lacks or holds differently; returns the number of files written."""
        remote_info = dict(self._remote_infos())
        recorded = self._read_digests()
        digests: dict[str, list[Any]] = {}
        written = 0
        for rel in _ordered(_local_files(run_dir)):
            local = run_dir / rel
            remote = self._path(rel)
            size, digest = _digest_local(local)
            info = remote_info.get(rel)
            if info is not None and info.size == size:
                untouched = info.mtime_ns is not None and recorded.get(rel) == [size, digest, info.mtime_ns]
                if untouched or self._digest(remote) == digest:  # else: changed here, or damaged there
                    digests[rel] = [size, digest, info.mtime_ns]
                    continue
            self._upload(local, remote)
            digests[rel] = [size, digest, self.fs.get_file_info(remote).mtime_ns]
            written += 1
        if any(recorded.get(rel) != entry for rel, entry in digests.items()):
            self._write_digests({**recorded, **digests})
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

    def _digest(self, remote: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(remote) as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def _read_digests(self) -> dict[str, list[Any]]:
        try:
            with self.fs.open_input_stream(self._path(DIGESTS)) as source:
                loaded = json.loads(source.read())
        except (OSError, ValueError):  # none yet, or damaged: every same-size file is read back
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {k: v for k, v in loaded.items() if isinstance(v, list) and len(v) == 3}

    def _write_digests(self, digests: dict[str, list[Any]]) -> None:
        remote = self._path(DIGESTS)
        parent = posixpath.dirname(remote)
        if parent:
            self.fs.create_dir(parent, recursive=True)
        tmp = posixpath.join(parent, f".tmp-push-{DIGESTS}")
        with self.fs.open_output_stream(tmp) as sink:
            sink.write(json.dumps(digests, sort_keys=True).encode())
        self.fs.move(tmp, remote)

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
        for rel, _ in self._remote_infos():
            yield rel

    def _remote_infos(self) -> Iterator[tuple[str, Any]]:
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        prefix = self.root.rstrip("/") + "/" if self.root else ""
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            rel = info.path.removeprefix(prefix)
            if _published(rel):
                yield rel, info


def _filesystem(uri: str) -> tuple[Any, str]:
    fs, root = pafs.FileSystem.from_uri(uri)
    return fs, str(root)


def _digest_local(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _bounded(call: Callable[[], Any], uri: str, timeout_s: float | None) -> Any:
    """`call()` in a daemon thread; an answer that does not come in time is an unreachable store."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box.append((False, exc))

    worker = threading.Thread(target=run, name="tsqa-store-probe", daemon=True)
    worker.start()
    limit = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    worker.join(limit)
    if not box:
        raise StoreError(f"output.store {uri!r} is unreachable: no answer within {limit:g} s (network, endpoint?)")
    ok, value = box[0]
    if not ok:
        raise value
    return value


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
    return parts[0] not in LOCAL_ONLY and rel != DIGESTS and not any(p.startswith(".tmp") for p in parts)


def _ordered(files: Iterator[str]) -> list[str]:
    """Shards before the manifest of their folder; the run-level blend and state after everything."""
    return sorted(files, key=lambda rel: (posixpath.basename(rel) in LAST, rel.count("/") == 0, rel))
