"""Class: damage to a run directory's shards after the cpu12 merge (lz4 intermediates with page
CRCs and no statistics, sha256 reused from the write, blend reading only `text` of a dataset this
apply packaged). The page CRC covers page data only: a flipped byte in the footer (which has no
checksum) renamed a column, and the next stage died on a KeyError traceback instead of recomputing
the damaged stage. The packaged dataset (zstd, no CRC) could be damaged into other values that
decode, or its shards swapped, and apply exited 0 (only `--verify` found it). A damaged chunk of an
unfinished model stage was a dead end; more damaged chunks than Executor.run's repair passes was a
success with stages incomplete. All fixed; the tests pin them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apply"))


def _apply(project: Path, *, verify: bool = False) -> tuple[Any, int]:
    from scripted_project import scripted_engine

    from tsqa.apply.session import run_apply

    engine = scripted_engine()
    result = run_apply(
        [project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: engine, verify=verify
    )
    return result, len(engine.calls)


def _dataset_files(project: Path) -> list[Path]:
    return sorted((project / "run" / "datasets" / "colours").glob("part-*.parquet"))


def _dataset(project: Path) -> list[dict[str, Any]]:
    return [r for f in _dataset_files(project) for r in pq.read_table(f).to_pylist()]


def _intermediate(project: Path, stage: str) -> Path:
    return min((project / "run" / "tasks" / "colours" / stage).glob("*/data/part-*.parquet"))


def _drop_manifests(project: Path, stage: str) -> None:
    """The stage after the damaged one runs again, so the damaged shard is read."""
    for manifest in (project / "run" / "tasks" / "colours" / stage).glob("*/manifest.json"):
        manifest.unlink()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from scripted_project import write_project

    write_project(tmp_path)
    return tmp_path


def _flip_footer_name(path: Path, column: str) -> None:
    """Flip the last byte of `column`'s name in the Parquet schema of the footer (no CRC there)."""
    data = bytearray(path.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = bytes(data).index(bytes([len(column)]) + column.encode(), footer)  # thrift: length, then bytes
    data[at + len(column)] ^= 0x01
    path.write_bytes(bytes(data))


# -- footer damage: fixed (read_shard compares the footer's schema with the stored Arrow schema) ---


@pytest.mark.parametrize(
    ("stage", "column", "reader"),
    [
        ("enrich", "variant", "dedup"),
        ("normalise", "question", "parse"),
        # dedup and decontaminate keep no rows: package's pass computes them again from enrich's
        ("enrich", "question", "package"),
    ],
)
def test_a_column_renamed_by_a_flipped_footer_byte_is_repaired(
    project: Path, stage: str, column: str, reader: str
) -> None:
    """Was: KeyError 'Field "variant" does not exist in schema' (a traceback from decontaminate),
    NullValueError for normalise; every later apply the same. Now: the stage is recomputed from
    the cache, the same rows."""
    _apply(project)
    before = _dataset(project)
    shard = _intermediate(project, stage)
    _flip_footer_name(shard, column)
    assert column not in pq.ParquetFile(shard).schema_arrow.names  # what a reader would have taken
    _drop_manifests(project, reader)
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == before
    assert column in pq.ParquetFile(_intermediate(project, stage)).schema_arrow.names
    assert any(stage in r and "schema" in r for r in result.repairs), result.repairs


def test_every_flipped_byte_of_an_intermediate_is_unreadable_or_harmless(tmp_path: Path) -> None:
    """One bit flipped anywhere in an lz4 intermediate: read_shard either names the file
    (UnreadableShard) or returns exactly the rows and column names written, never others."""
    from tsqa.store.shards import INTERMEDIATE, UnreadableShard, read_shard, write_shard

    table = pa.table(
        {
            "id": [f"row-{i}" for i in range(40)],
            "text": [f"Question {i}? Answer {i * 7}." for i in range(40)],
            "n": list(range(40)),
            "tags": [[f"t{i}", "x"] for i in range(40)],
        }
    )
    path, _ = write_shard(tmp_path, 0, table, INTERMEDIATE)
    original = path.read_bytes()
    wrong = []
    for at in range(len(original)):
        data = bytearray(original)
        data[at] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            got = read_shard(path)
        except UnreadableShard:
            continue
        if not (got.equals(table) and got.schema.equals(table.schema)):
            wrong.append(at)
    assert not wrong, f"bytes {wrong[:10]} flipped read as other rows or names"


# -- the packaged dataset ---------------------------------------------------------------------------


def _silent_flip(path: Path, column: str) -> int:
    """A byte inside `column`'s pages whose flip still decodes (zstd has no content checksum in
    Parquet pages, the dataset no page CRC), to other values. Returns its offset."""
    original = path.read_bytes()
    table = pq.read_table(path)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    for at in range(start, start + chunk.total_compressed_size):
        data = bytearray(original)
        data[at] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            if not pq.read_table(path).equals(table):
                return at
        except (pa.ArrowException, OSError):
            pass
    path.write_bytes(original)
    pytest.skip(f"no flip of {column!r} decodes silently in this dataset")


def test_a_packaged_value_damaged_into_another_is_found(project: Path) -> None:
    """Was: the packaged dataset is zstd without page CRCs, a flipped byte that decodes to other
    values passed the footer/row-count check and the blend's full decode, and apply exited 0 over
    it (only --verify found it). Now the dataset's sha256 is checked on every apply."""
    _apply(project)
    before = _dataset(project)
    _silent_flip(_dataset_files(project)[0], "text")
    assert _dataset(project) != before  # users would read other texts
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == before, "an apply exited 0 over a damaged packaged dataset"
    assert result.repairs


@pytest.mark.parametrize("column", ["text", "question"])
def test_verify_finds_a_packaged_value_damaged_into_another(project: Path, column: str) -> None:
    _apply(project)
    before = _dataset(project)
    _silent_flip(_dataset_files(project)[0], column)
    result, calls = _apply(project, verify=True)
    assert calls == 0
    assert _dataset(project) == before
    assert any("package" in r for r in result.repairs), result.repairs


def test_an_undecodable_page_of_another_column_of_an_earlier_dataset_is_repackaged(project: Path) -> None:
    """The blend of an apply that packaged nothing reads every column of the dataset: a page of
    `question` that no longer decodes (text intact) is found and repackaged, no model call."""
    _apply(project)
    before = _dataset(project)
    path = _dataset_files(project)[0]
    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == "question")
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    for at in range(start + 20, start + chunk.total_compressed_size - 4):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    pq.read_table(path, columns=["text"])  # text still reads
    with pytest.raises((pa.ArrowException, OSError)):
        pq.read_table(path, columns=["question"])
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == before
    assert any("package" in r for r in result.repairs), result.repairs


def test_a_stage_damaged_after_its_shard_was_hashed_keeps_the_written_digest(tmp_path: Path) -> None:
    """shard_sha256 reuses the digest taken at write time when inode, size and mtime match: a
    change that keeps them (written in place, mtime put back) must not be recorded as the content
    (the manifest keeps what was written, so --verify still finds the change)."""
    import os

    from tsqa.store.integrity import shard_damage
    from tsqa.store.shards import INTERMEDIATE, file_sha256, shard_sha256, write_shard

    path, digest = write_shard(tmp_path, 0, pa.table({"a": [f"value {i:04d}" for i in range(500)]}), INTERMEDIATE)
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the page
    with open(path, "r+b") as handle:  # in place: the same inode and size
        handle.write(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert shard_sha256(path) == digest != file_sha256(path)
    assert shard_damage(path, 500, digest) is not None


# -- repairs of model stage chunks ------------------------------------------------------------------


def _garble_pages(path: Path) -> None:
    """Every byte between the magic and the footer flipped: the footer (and row count) still read."""
    data = bytearray(path.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    for i in range(8, footer - 4):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_rejects_chunk_of_an_unfinished_model_stage_is_redone(project: Path) -> None:
    """Killed just before enrich's manifest, then one of its rejects chunks damaged in its pages:
    the chunk is reused (its footer reads), its rejects are read when the stage finishes. Was:
    ApplyFailed '<file>: unreadable ...; run apply again to resume' on every apply (a dead end:
    repair_unreadable left unfinished stages alone). Now: the chunk is redone from the cache."""
    from tsqa.apply.session import ApplyFailed

    _apply(project)
    before = _dataset(project)
    for stage in ["enrich", "dedup", "decontaminate", "package"]:
        _drop_manifests(project, stage)
    rejects = sorted((project / "run" / "tasks" / "colours" / "enrich").glob("*/rejects/part-*.parquet"))
    assert rejects
    _garble_pages(rejects[0])
    try:
        result, calls = _apply(project)
    except ApplyFailed as exc:
        pytest.fail(f"a dead end: {exc}")
    assert calls == 0
    assert _dataset(project) == before
    assert any("rejects" in r for r in result.repairs), result.repairs


def test_more_damaged_chunks_than_the_repair_bound_is_never_a_success(tmp_path: Path) -> None:
    """18 model chunks damaged in their pages, more than Executor.run's repair bound (one repair
    per pass, len(REGISTRY) * tasks + 1 passes). Was: the loop ran out silently and apply returned
    success with solve..package incomplete (no manifests), the blend made from the stale dataset
    folder. Now: an error that says to run apply again, and the next apply finishes from the cache."""
    from scripted_project import write_project

    from tsqa.apply.session import ApplyFailed

    write_project(tmp_path)
    yaml = tmp_path / "tsqa.yaml"
    yaml.write_text(yaml.read_text().replace("chunk_size: 3", "chunk_size: 1").replace("4096}", "4096, chunk_size: 1}"))
    _apply(tmp_path)
    before = _dataset(tmp_path)
    chunks = [
        p
        for stage in ["generate", "solve", "enrich"]
        for p in sorted((tmp_path / "run" / "tasks" / "colours" / stage).glob("*/data/part-*.parquet"))
    ]
    assert len(chunks) > 13
    for chunk in chunks:
        _garble_pages(chunk)
    for stage in ["parse", "verify", "dedup", "decontaminate", "package"]:
        _drop_manifests(tmp_path, stage)
    try:
        result, _ = _apply(tmp_path)
    except ApplyFailed as exc:
        assert "run apply again" in str(exc)
    else:
        assert "package" in result.manifests["colours"], "apply succeeded with stages incomplete"
    result, calls = _apply(tmp_path)
    assert calls == 0
    assert "package" in result.manifests["colours"]
    assert _dataset(tmp_path) == before


def test_two_packaged_shards_swapped_are_found(project: Path) -> None:
    """Every dataset shard holds the same row count: swapping two passes the footer/row check and
    decodes; the sha256 checked on every apply finds it, and the same rows come back in order."""
    yaml = project / "tsqa.yaml"
    yaml.write_text(yaml.read_text().replace("output: {dir: run}", "output: {dir: run, shard_rows: 1}"))
    _apply(project)
    before = _dataset(project)
    first, second = _dataset_files(project)[:2]
    assert pq.ParquetFile(first).metadata.num_rows == pq.ParquetFile(second).metadata.num_rows
    a, b = first.read_bytes(), second.read_bytes()
    assert a != b
    first.write_bytes(b)
    second.write_bytes(a)
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == before
    assert any("package" in r for r in result.repairs), result.repairs
