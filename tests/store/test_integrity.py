"""Manifest checks on resume: missing, truncated, rewritten and row-count-changed shards."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tsqa.store.integrity import dataset_damage, manifest_damage
from tsqa.store.manifest import Manifest, ShardInfo
from tsqa.store.shards import export_shards, write_shard


def _stage(root: Path, n_shards: int = 3) -> Manifest:
    folder = root / "tasks" / "t" / "generate" / "fp" / "data"
    shards = []
    for i in range(n_shards):
        path, digest = write_shard(folder, i, pa.table({"x": list(range(i * 10, i * 10 + 10))}))
        shards.append(ShardInfo(file=str(path.relative_to(root)), rows=10, sha256=digest))
    return Manifest(
        task="t",
        stage="generate",
        fingerprint="fp",
        plan_digest="d",
        rows_in=30,
        rows_out=30,
        shards=shards,
        completed_at="now",
    )


def test_an_intact_stage_has_no_damage(tmp_path: Path) -> None:
    manifest = _stage(tmp_path)
    assert manifest_damage(tmp_path, manifest) == []
    assert manifest_damage(tmp_path, manifest, full=True) == []


def test_each_kind_of_damage_is_named(tmp_path: Path) -> None:
    manifest = _stage(tmp_path)
    files = [tmp_path / s.file for s in manifest.shards]
    files[0].unlink()
    raw = files[1].read_bytes()
    files[1].write_bytes(raw[: len(raw) // 2])
    damage = {d.file: d.problem for d in manifest_damage(tmp_path, manifest)}
    assert damage[files[0]] == "missing"
    assert damage[files[1]].startswith("unreadable Parquet (")
    assert files[2] not in damage


def test_a_rewritten_shard_is_found_by_rows_cheaply_and_by_hash_in_full(tmp_path: Path) -> None:
    manifest = _stage(tmp_path)
    target = tmp_path / manifest.shards[0].file
    write_shard(target.parent, 0, pa.table({"x": [1, 2]}))  # fewer rows
    assert [d.problem for d in manifest_damage(tmp_path, manifest)] == ["2 rows, the manifest recorded 10"]
    write_shard(target.parent, 0, pa.table({"x": [-v for v in range(10)]}))  # same count, other rows
    assert manifest_damage(tmp_path, manifest) == []  # the cheap check cannot see it
    assert [d.problem for d in manifest_damage(tmp_path, manifest, full=True)] == [
        "content changed (sha256 differs from the manifest)"
    ]


def test_a_packaged_folder_must_be_the_package_stages_shards(tmp_path: Path) -> None:
    manifest = _stage(tmp_path, n_shards=2)
    folder = tmp_path / "datasets" / "t"
    assert [d.problem for d in dataset_damage(folder, manifest)] == ["missing", "missing"]
    export_shards(tmp_path / manifest.shards[0].file.rsplit("/", 1)[0], folder)
    assert dataset_damage(folder, manifest, full=True) == []
    (folder / "part-00002.parquet").write_bytes(b"PAR1 nope")
    assert [d.problem for d in dataset_damage(folder, manifest)] == ["not in the package stage's manifest"]
    (folder / "part-00002.parquet").unlink()
    # a byte flipped in a data page: the footer still reads, only the hash (--verify) sees it
    target = folder / "part-00001.parquet"
    target.unlink()  # break the hard link: only the dataset copy is damaged
    raw = bytearray((tmp_path / manifest.shards[1].file).read_bytes())
    raw[10] ^= 0xFF  # inside the first column chunk, far from the footer
    target.write_bytes(bytes(raw))
    assert dataset_damage(folder, manifest) == []
    assert [d.problem for d in dataset_damage(folder, manifest, full=True)] == [
        "content changed (sha256 differs from the manifest)"
    ]
