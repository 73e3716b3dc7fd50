"""Is what a manifest promises still on disk? Checked on every resume, before anything is reused.

Cheap by default: each shard the manifest lists exists, its Parquet footer reads and holds the
row count the manifest recorded (a truncated or overwritten file fails the footer). `full=True`
(`tsqa apply --verify`) also recomputes every sha256. A stage with any problem is not complete:
the caller invalidates it and everything downstream of it, and recomputes them (model calls come
back from the response cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from tsqa.store.manifest import MANIFEST_FILE, Manifest
from tsqa.store.shards import SHARD_GLOB, file_sha256


@dataclass(frozen=True)
class Damage:
    file: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


def shard_damage(path: Path, rows: int, sha256: str | None = None) -> str | None:
    """What is wrong with one shard file, or None; `sha256` given → the content is hashed too."""
    if not path.is_file():
        return "missing"
    try:
        found = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # noqa: BLE001 -- any unreadable footer is damage, whatever pyarrow raises
        return f"unreadable Parquet ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if found != rows:
        return f"{found} rows, the manifest recorded {rows}"
    if sha256 is not None and file_sha256(path) != sha256:
        return "content changed (sha256 differs from the manifest)"
    return None


def manifest_damage(run_root: Path, manifest: Manifest, *, full: bool = False) -> list[Damage]:
    """Every problem with the shards `manifest` lists (paths are relative to the run directory)."""
    damage = []
    for shard in [*manifest.shards, *manifest.rejects]:
        path = run_root / shard.file
        problem = shard_damage(path, shard.rows, shard.sha256 if full else None)
        if problem is not None:
            damage.append(Damage(path, problem))
    listed = sum(s.rows for s in manifest.shards)
    if manifest.rows_kept and listed != manifest.rows_out:  # never read as fewer rows
        folder = run_root / "tasks" / manifest.task / manifest.stage / manifest.fingerprint
        damage.append(Damage(folder / MANIFEST_FILE, f"lists {listed} rows in its shards, counts {manifest.rows_out}"))
    return damage


def dataset_damage(folder: Path, manifest: Manifest, *, full: bool = False) -> list[Damage]:
    """The packaged dataset folder: exactly the package stage's shards (same names and rows, and
    with `full` the same sha256: it is a link or copy of them, and is what users read)."""
    expected = {Path(s.file).name: s for s in manifest.shards}
    found = {p.name for p in folder.glob(SHARD_GLOB)} if folder.is_dir() else set()
    damage = [Damage(folder / name, "not in the package stage's manifest") for name in sorted(found - set(expected))]
    for name, shard in sorted(expected.items()):
        problem = shard_damage(folder / name, shard.rows, shard.sha256 if full else None)
        if problem is not None:
            damage.append(Damage(folder / name, problem))
    return damage
