"""Attack on the fused dedup → decontaminate → package pass (a3282d5): dedup and decontaminate keep
no rows; a later run that needs them replays them (dedup from the ids in its rejects shards,
decontaminate by running its process again).

What held (kept as passing tests below): SIGKILL between the three manifests, an exception in the
middle of the pass, a deleted or page-damaged dedup rejects shard under a replay, a second task of
the dedup group whose rejects are lost, a decontaminate-only settings change, a Ray-style
row_mapper on a run directory written without one. What broke: a rejects shard whose footer (no
CRC there) was damaged makes apply die with a raw pyarrow/Unicode traceback instead of repairing
dedup; a dedup or decontaminate manifest that says its rows were kept but lists no shards is read
as "no rows" and apply exits 0 with an empty dataset; `--verify` never looks at the rejects that are
now the only record of dedup's verdicts. All fixed since; the tests pin the fixes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apply"))
from scripted_project import apply_scripted as _apply
from scripted_project import packaged_texts as _dataset


def _stage(project: Path, stage: str, task: str = "colours") -> Path:
    """The stage's folder that holds a manifest (the finished fingerprint)."""
    return next((project / "run" / "tasks" / task / stage).glob("*/manifest.json")).parent


def _relicense(project: Path, task: str = "colours") -> None:
    """A package setting: package's fingerprint changes, so package needs dedup's and
    decontaminate's rows again (replayed; neither kept them)."""
    spec = project / "specs" / f"{task}.yaml"
    spec.write_text(spec.read_text().replace("license: cc0-1.0", "license: mit"))


def _flip_in_footer(path: Path, needle: bytes, offset: int, bit: int) -> None:
    data = bytearray(path.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = bytes(data).index(needle, footer)
    data[at + offset] ^= 1 << bit
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete apply of the scripted project; tests work on copies of it."""
    from scripted_project import write_project

    root = tmp_path_factory.mktemp("finished")
    write_project(root)
    _apply(root)
    return root


@pytest.fixture
def project(finished: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(finished, copy)
    return copy


@pytest.fixture(scope="module")
def reference(finished: Path) -> list[tuple[str, str]]:
    rows = _dataset(finished)
    ids = [i for i, _ in rows]
    # The scripted project's two filters did their work: the duplicate and the contaminated row are out.
    assert not any("colours:2.1/" in i for i in ids), ids
    assert not any("colours:5.1/" in i for i in ids), ids
    assert rows
    return rows


# ---------------------------------------------------------------------------------------------
# Findings: these fail now.
# ---------------------------------------------------------------------------------------------


def test_dedup_rejects_with_a_footer_column_name_that_is_not_utf8_is_repaired(
    project: Path, reference: list[tuple[str, str]]
) -> None:
    """A flipped high bit in the `id` column name of dedup's rejects footer (the footer has no
    CRC; dedup's rejects are now the only record of its verdicts). Then a package setting changes.
    What the user sees: `tsqa apply` dies with a traceback ending in
    `UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9` raised from
    ParquetFile(...) in read_shard, via Executor._rejected_ids -- read_shard turns only
    ArrowException/OSError into UnreadableShard, so the repair (recompute dedup from enrich's
    shards, no model call) never runs, and every later apply dies the same way.
    Expected: dedup recomputed, the same rows, a repair naming the file."""
    shard = _stage(project, "dedup") / "rejects" / "part-00000.parquet"
    _flip_in_footer(shard, b"\x02id", 1, 7)  # 'i' -> 0xe9
    _relicense(project)
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference
    assert any("dedup" in r for r in result.repairs), result.repairs


def test_dedup_rejects_whose_id_column_reads_as_binary_is_repaired(
    project: Path, reference: list[tuple[str, str]]
) -> None:
    """One flipped bit in the footer turns the `id` column's converted type field (UTF8) into
    another field: the shard still reads, the same 2 ids, but as `binary`. `_rejected_ids` then
    builds `pa.chunked_array(ids, pa.string())` and apply dies with the traceback
    `pyarrow.lib.ArrowInvalid: Cannot append scalar of type binary to builder for type string`
    (ArrowInvalid is neither an UnreadableShard nor anything run_apply turns into a message), on
    every apply. Expected: the shard is damage like any other -- dedup is recomputed."""
    from tsqa.store.shards import UnreadableShard, read_shard

    shard = _stage(project, "dedup") / "rejects" / "part-00000.parquet"
    _flip_in_footer(shard, b"\x02id%\x00", 3, 4)  # thrift field header 0x25 (converted_type) -> 0x35
    assert pq.ParquetFile(shard).schema_arrow.field("id").type == pa.binary()  # what the replay got
    with pytest.raises(UnreadableShard, match="differs from the Arrow schema"):
        read_shard(shard, ["id"])  # now: the stored Arrow schema's types are compared too
    _relicense(project)
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference
    assert any("dedup" in r for r in result.repairs), result.repairs


@pytest.mark.parametrize("stage", ["dedup", "decontaminate"])
def test_a_manifest_that_kept_rows_but_lists_no_shard_is_not_read_as_no_rows(
    project: Path, reference: list[tuple[str, str]], stage: str
) -> None:
    """A dedup (or decontaminate) manifest without `rows_kept` (the old format, so it defaults to
    true) or with `rows_kept: true`, `shards: []` and `rows_out: 6`: it promises 6 rows and lists
    none. `_check_on_disk` finds nothing wrong (it checks only listed shards), `_input` trusts
    `rows_kept`, TaskContext.data()'s assert passes (`manifest.rows_kept` is true), and the stage
    reads as zero rows. After a package setting change, apply exits 0 with an EMPTY dataset and
    no message -- rows lost silently. Expected: rows_out != the listed shards' rows is damage
    (recompute), or at least a failure naming the manifest."""
    manifest = _stage(project, stage) / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["rows_out"] > 0 and data["shards"] == []
    del data["rows_kept"]  # what an older tsqa's manifest looks like
    manifest.write_text(json.dumps(data))
    _relicense(project)
    from tsqa.apply.session import ApplyFailed

    try:
        _apply(project)
    except ApplyFailed as exc:  # a clear refusal naming the manifest is acceptable too
        assert f"{stage}/{manifest.parent.name}" in str(exc), str(exc)
        return
    assert _dataset(project) == reference


def test_verify_finds_a_damaged_dedup_rejects_shard(project: Path, reference: list[tuple[str, str]]) -> None:
    """dedup's rejects are what a replay keeps rows by (dedup keeps no rows any more), yet they
    are in no manifest's shard list, so `tsqa apply --verify` -- "check every finished shard" --
    never opens them: a rejects shard whose pages no longer decode passes --verify with exit 0 and
    no repair (it is found only when some later apply happens to replay dedup). Expected: --verify
    reports it and recomputes dedup (no model call)."""
    shard = _stage(project, "dedup") / "rejects" / "part-00000.parquet"
    data = bytearray(shard.read_bytes())
    at = bytes(data).index(b"colours:2.1/")  # inside a data page (lz4 may keep short literals)
    data[at + 3] ^= 0x01
    shard.write_bytes(bytes(data))
    from tsqa.store.shards import UnreadableShard, read_shard

    with pytest.raises(UnreadableShard):
        read_shard(shard, ["id"])
    result, calls = _apply(project, verify=True)
    assert calls == 0
    assert _dataset(project) == reference
    assert any("dedup" in r for r in result.repairs), result.repairs


def test_a_damaged_decontaminate_rejects_footer_does_not_end_every_apply_in_a_traceback(
    project: Path, reference: list[tuple[str, str]]
) -> None:
    """The same footer damage in decontaminate's rejects (kept and listed by no manifest; the
    replay recomputes decontaminate instead of reading them). Nothing else changed: apply has
    nothing to do, then writes the report, which reads every stage's rejects, and dies with
    `UnicodeDecodeError` from report/run_data.py read_columns (it catches only OSError and
    ArrowException) -- on every apply, since nothing checks or repairs rejects shards. Not new in
    a3282d5 (the report read rejects before), but rejects are now load-bearing. Expected: the
    stage is recomputed, or a message naming the file; never a traceback."""
    from tsqa.apply.session import ApplyFailed

    shard = _stage(project, "decontaminate") / "rejects" / "part-00000.parquet"
    _flip_in_footer(shard, b"\x02id", 1, 7)
    try:
        _apply(project)
    except ApplyFailed as exc:
        assert "decontaminate" in str(exc) and "rejects" in str(exc), str(exc)
        return
    assert _dataset(project) == reference


# ---------------------------------------------------------------------------------------------
# What held.
# ---------------------------------------------------------------------------------------------

_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {apply!r})
    from scripted_project import scripted_engine
    import tsqa.apply.executor as executor
    from tsqa.apply.session import run_apply

    real = executor.write_manifest

    def write_manifest(folder, manifest):
        real(folder, manifest)
        if manifest.stage == {stage!r}:
            os.kill(os.getpid(), signal.SIGKILL)

    executor.write_manifest = write_manifest
    root = Path({root!r})
    engine = scripted_engine()
    run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine)
    print("applied")
    """
)


@pytest.mark.parametrize("stage", ["dedup", "decontaminate"])
def test_sigkill_between_the_fused_manifests_then_resume(
    project: Path, reference: list[tuple[str, str]], stage: str
) -> None:
    """SIGKILL right after dedup's (or decontaminate's) manifest, before package's: the rerun
    replays the finished stages' rows and packages the same rows, with no model call."""
    for name in ("dedup", "decontaminate", "package"):
        (_stage(project, name) / "manifest.json").unlink()
    shutil.rmtree(project / "run" / "datasets")
    code = _KILLER.format(apply=str(Path(__file__).resolve().parents[1] / "apply"), stage=stage, root=str(project))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr[-2000:]
    finished = [
        s
        for s in ("dedup", "decontaminate", "package")
        if list((project / "run" / "tasks" / "colours" / s).glob("*/manifest.json"))
    ]
    assert finished == ["dedup", "decontaminate"][: ["dedup", "decontaminate"].index(stage) + 1]
    _, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference


def test_an_exception_in_the_middle_of_the_pass_then_resume(
    project: Path, reference: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """package's process fails on the second batch of the fused pass (rejects of dedup and
    decontaminate half written, no manifest): the rerun redoes the pass, the same rows."""
    from tsqa.stages.package import PackageStage

    for name in ("dedup", "decontaminate", "package"):
        (_stage(project, name) / "manifest.json").unlink()
    real, seen = PackageStage.process, []

    def failing(self: Any, rows: Any, task: Any) -> Any:
        seen.append(rows.num_rows)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(self, rows, task)

    monkeypatch.setattr(PackageStage, "process", failing)
    monkeypatch.setattr("tsqa.store.shards.BATCH_ROWS", 1)  # a batch per enrich shard: several
    with pytest.raises(KeyboardInterrupt):
        _apply(project)
    monkeypatch.setattr(PackageStage, "process", real)
    _, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference


@pytest.mark.parametrize("damage", ["deleted", "page_flipped", "swapped_with_decontaminate"])
def test_damaged_dedup_rejects_under_a_replay_recompute_dedup(
    project: Path, reference: list[tuple[str, str]], damage: str
) -> None:
    """dedup's rejects decide what a replay keeps: gone, undecodable, or another stage's -- dedup
    is recomputed (a repair naming it), never a duplicate let in."""
    shard = _stage(project, "dedup") / "rejects" / "part-00000.parquet"
    if damage == "deleted":
        shard.unlink()
    elif damage == "page_flipped":
        data = bytearray(shard.read_bytes())
        data[bytes(data).index(b"colours:2.1/") + 3] ^= 0x01
        shard.write_bytes(bytes(data))
    else:
        shutil.copyfile(_stage(project, "decontaminate") / "rejects" / "part-00000.parquet", shard)
    _relicense(project)
    result, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference
    assert any("dedup" in r for r in result.repairs), result.repairs


def test_a_decontaminate_setting_alone_replays_dedup_like_a_fresh_run(project: Path, tmp_path: Path) -> None:
    """Only decontaminate's fingerprint changes (ngram 8 -> 6): dedup's rows come from its
    rejects; the dataset is the one a fresh run directory gets."""
    from scripted_project import write_project

    def edit(root: Path) -> None:
        spec = root / "specs" / "colours.yaml"
        spec.write_text(spec.read_text().replace("ngram: 8}", "ngram: 6}"))

    fresh = tmp_path / "fresh"
    write_project(fresh)
    edit(fresh)
    _apply(fresh)
    edit(project)
    _, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == _dataset(fresh)


def test_a_peer_task_losing_its_rejects_stays_deduplicated(tmp_path: Path) -> None:
    """Two tasks of one dedup group (every `shades` question duplicates one of `colours`): shades'
    dedup rejects deleted, then its package setting changed -- its replay recomputes dedup and
    shades still packages nothing."""
    from scripted_project import SPEC, write_project

    write_project(tmp_path)
    (tmp_path / "specs" / "shades.yaml").write_text(SPEC.replace("task: colours", "task: shades"))
    _apply(tmp_path)
    colours = _dataset(tmp_path)
    assert _dataset(tmp_path, "shades") == []
    for shard in (_stage(tmp_path, "dedup", "shades") / "rejects").glob("part-*.parquet"):
        shard.unlink()
    _relicense(tmp_path, "shades")
    result, calls = _apply(tmp_path)
    assert calls == 0
    assert _dataset(tmp_path, "shades") == []
    assert _dataset(tmp_path) == colours
    assert any("shades" in r and "dedup" in r for r in result.repairs), result.repairs


def test_a_row_mapper_resumes_a_run_written_without_one(
    project: Path, reference: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ray-style row_mapper (stages keep their rows) on a run whose dedup and decontaminate kept
    none: package's upstream is replayed on the driver, the same rows."""
    import tsqa.apply.run as run_module
    from tsqa.apply.executor import Executor
    from tsqa.store.shards import iter_shards

    def mapper(sdef: Any, task: Any, upstream: Path) -> Any:
        for shard in iter_shards(upstream):
            yield sdef.process(shard, task)

    monkeypatch.setattr(run_module, "Executor", lambda *a, **k: Executor(*a, **{**k, "row_mapper": mapper}))
    for name in ("decontaminate", "package"):
        (_stage(project, name) / "manifest.json").unlink()
    _, calls = _apply(project)
    assert calls == 0
    assert _dataset(project) == reference
