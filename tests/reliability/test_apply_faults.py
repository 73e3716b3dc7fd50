"""Issue 11, end to end on the scripted project: after each fault, a rerun without it ends with
the same packaged rows as an uninterrupted run (nothing lost, nothing duplicated), no traceback,
and no finished model call is made again unless its result was damaged or never stored.

1 failed calls   2 undecodable responses (engine level: tests/engines/test_openai_faults.py)
3 kills (tests/apply/test_crash_resume.py, tests/reliability/test_cache_kill.py)
4 concurrent applies   5 unwritable places   6 damage on disk   7 extraction (test_extractors.py)
8 chunking changed between runs
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))
sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_project import script, write_project

from fs_faults import read_only, small_disk
from tsqa.apply.run import ApplyResult
from tsqa.apply.session import ApplyFailed, run_apply
from tsqa.engines.base import Request, Result
from tsqa.engines.scripted import ScriptedEngine

CLI = Path(__file__).with_name("cli_runner.py")
Rows = list[dict[str, Any]]


def dataset(root: Path) -> Rows:
    folder = root / "run" / "datasets" / "colours"
    rows = [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: str(r["id"]))


def apply(root: Path, engine: ScriptedEngine, **kw: Any) -> ApplyResult:
    return run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine, **kw)


def failing(ids: set[str] | None = None, suffix: str | None = None) -> ScriptedEngine:
    """The script, except that some requests fail as they would after the engine's retries."""

    def answer(request: Request) -> str | list[str] | Result:
        if (ids is not None and request.id in ids) or (suffix is not None and request.id.endswith(suffix)):
            return Result.failed(request.id, "gave up after 7 attempts: HTTP 503: queue full")
        return script(request)

    return ScriptedEngine(answer)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rows, list[str]]:
    """An uninterrupted run: its packaged rows and every request it made."""
    root = tmp_path_factory.mktemp("reference")
    write_project(root)
    engine = ScriptedEngine(script)
    assert apply(root, engine).complete
    return dataset(root), [r.id for r in engine.calls]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path)
    return tmp_path


# -- 1. failures are not results -------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.2, 0.5, 1.0])
def test_failed_calls_leave_the_stage_incomplete_and_the_rerun_retries_exactly_them(
    project: Path, reference: tuple[Rows, list[str]], share: float
) -> None:
    rows, all_calls = reference
    doomed = {i for i in all_calls if i.startswith("colours/generate/")}
    doomed = set(sorted(doomed)[: max(1, int(len(doomed) * share))])
    first = failing(doomed)
    try:
        result = apply(project, first)
    except ApplyFailed as stopped:  # most of a chunk failed: the endpoint looks down, apply stops
        assert "requests failed" in stopped.lines[0] and "run apply again" in stopped.lines[1]
    else:
        assert not result.complete and result.failed_calls == len(doomed)
        assert "generate" not in result.manifests["colours"]  # the stage is not complete …
        assert "parse" not in result.manifests["colours"]  # … and nothing after it ran
        assert not (project / "run" / "blend.json").exists()
        assert "failed after retries" in result.failures[0]
    second = ScriptedEngine(script)
    again = apply(project, second)
    assert again.complete and dataset(project) == rows
    retried = [r.id for r in second.calls if "/generate/" in r.id]
    assert doomed <= set(retried)  # the failed calls (and those a stop left unmade), nothing else:
    answered = set(first.answered) - doomed  # calls still in flight when apply stopped may be made again
    assert not answered & {r.id for r in second.calls}  # no finished call made twice
    assert answered | {r.id for r in second.calls} == set(all_calls)


def test_a_later_stage_failing_keeps_the_earlier_ones(project: Path, reference: tuple[Rows, list[str]]) -> None:
    rows, all_calls = reference
    enrich = sorted(i for i in all_calls if "/enrich/" in i)
    result = apply(project, failing(set(enrich[:1])))
    m = result.manifests["colours"]
    assert result.failed_calls == 1 and "solve" in m and "verify" in m and "enrich" not in m
    second = ScriptedEngine(script)
    assert apply(project, second).complete
    assert [r.id for r in second.calls] == enrich[:1] and dataset(project) == rows


def test_accepting_failures_records_them_and_says_so(project: Path, reference: tuple[Rows, list[str]]) -> None:
    rows, _ = reference
    result = apply(project, failing(suffix="/colours:1"), accept_failures=True)
    m = result.manifests["colours"]
    assert result.complete and result.accepted_failures == 1 == m["generate"].failures_accepted
    assert m["parse"].rejections["engine_error"] == 1
    # seed 1's question is rejected, on purpose; the rest is what an uninterrupted run packages
    assert dataset(project) == [r for r in rows if "colours:1." not in str(r["id"])] != rows


def _cli(root: Path, mode: str, *args: str, sleep_s: float = 0.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, str(CLI), str(root), mode, str(sleep_s), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_the_command_line_exits_non_zero_and_says_what_to_do(project: Path, reference: tuple[Rows, list[str]]) -> None:
    failed = _cli(project, "flaky")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert "Traceback" not in out
    assert "1 model call failed after retries" in out and "Run `tsqa apply` again to retry exactly those" in out
    assert "incomplete: task 'colours' generate: 1 of" in out
    ok = _cli(project, "ok")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Applied:" in ok.stdout and dataset(project) == reference[0]


# -- 4. one apply per run directory ----------------------------------------------------------------


def test_a_second_apply_is_refused_naming_the_holder(project: Path, reference: tuple[Rows, list[str]]) -> None:
    first = subprocess.Popen(
        [sys.executable, str(CLI), str(project), "ok", "0.15"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = project / "calls.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first apply holds the lock once it calls the model
    second = _cli(project, "ok")
    out_first, err_first = first.communicate(timeout=300)
    out = second.stdout + second.stderr
    assert second.returncode == 1, out
    assert f"is in use by another tsqa apply: pid {first.pid} on " in out and "Traceback" not in out
    assert first.returncode == 0, out_first + err_first
    assert dataset(project) == reference[0]
    calls = log.read_text().splitlines()
    assert len(calls) == len(set(calls)) == len(reference[1])  # the refused apply made no call


# -- 5. unwritable places, before any model call ---------------------------------------------------


def test_a_read_only_run_directory_stops_before_any_model_call(project: Path) -> None:
    (project / "run").mkdir()
    engine = ScriptedEngine(script)
    with read_only(project / "run"), pytest.raises(ApplyFailed) as stopped:
        apply(project, engine)
    assert stopped.value.lines[0].startswith(f"error: cannot write the run directory {project / 'run'}: ")
    assert stopped.value.lines[-1] == "apply stopped before any model call: fix the above"
    assert engine.calls == []


def test_a_read_only_cache_after_a_run_stops_before_any_model_call(project: Path) -> None:
    assert apply(project, ScriptedEngine(script)).complete
    (project / "specs" / "colours.yaml").write_text(
        (project / "specs" / "colours.yaml").read_text().replace("per_seed: 2", "per_seed: 1")
    )
    engine = ScriptedEngine(script)
    with read_only(project / "run" / "cache"), pytest.raises(ApplyFailed) as stopped:
        apply(project, engine)
    assert "cannot write the response cache" in stopped.value.lines[0]
    assert engine.calls == []


def test_a_full_disk_stops_before_any_model_call(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 1024) as disk:
        write_project(disk)
        engine = ScriptedEngine(script)
        with pytest.raises(ApplyFailed) as stopped:
            apply(disk, engine)
    assert stopped.value.lines[0].startswith(f"error: not enough free space for the run directory {disk / 'run'}")
    assert engine.calls == []


# -- 6. damage on disk is found, repaired and reported ---------------------------------------------


def _stage_shards(root: Path, stage: str) -> list[Path]:
    return sorted((root / "run" / "tasks" / "colours" / stage).glob("*/data/part-*.parquet"))


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


DAMAGE = {
    "packaged shard deleted": lambda root: next((root / "run" / "datasets" / "colours").glob("part-*")).unlink(),
    "generate shard deleted": lambda root: _stage_shards(root, "generate")[0].unlink(),
    "generate shard truncated": lambda root: _truncate(_stage_shards(root, "generate")[-1]),
    "parse shard truncated": lambda root: _truncate(_stage_shards(root, "parse")[0]),
    "enrich shard emptied": lambda root: _stage_shards(root, "enrich")[0].write_bytes(b""),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_shards_are_repaired_from_the_cache(
    project: Path, reference: tuple[Rows, list[str]], damage: str
) -> None:
    assert apply(project, ScriptedEngine(script)).complete
    DAMAGE[damage](project)
    engine = ScriptedEngine(script)
    result = apply(project, engine)
    assert result.complete and dataset(project) == reference[0]
    assert engine.calls == []  # every call came back from the cache
    [repair] = result.repairs
    assert "stage is damaged" in repair and "recomputing it" in repair
    assert apply(project, ScriptedEngine(script)).repairs == ()  # repaired for good


def _flip_in_data_page(path: Path) -> None:
    """Flip one byte inside a column chunk so that the footer and row count still read but the
    data does not decode (the first such byte of the largest chunk). Breaks a hard link first so
    only this name is damaged."""
    meta = pq.ParquetFile(path).metadata
    chunks = [meta.row_group(g).column(c) for g in range(meta.num_row_groups) for c in range(meta.num_columns)]
    big = max(chunks, key=lambda c: c.total_compressed_size)
    start = big.dictionary_page_offset or big.data_page_offset
    original = path.read_bytes()
    path.unlink()
    for at in range(start + big.total_compressed_size // 2, start + big.total_compressed_size):
        raw = bytearray(original)
        raw[at] ^= 0xFF
        path.write_bytes(bytes(raw))
        try:
            pq.read_table(path)
        except Exception:
            assert pq.ParquetFile(path).metadata.num_rows == meta.num_rows
            return
    raise AssertionError(f"no single flipped byte makes {path} undecodable")


FLIPS = {
    "packaged": lambda root: next((root / "run" / "datasets" / "colours").glob("part-*")),
    "package stage": lambda root: _stage_shards(root, "package")[0],
    "generate": lambda root: _stage_shards(root, "generate")[0],
    "parse": lambda root: _stage_shards(root, "parse")[0],
}


@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("where", sorted(FLIPS))
def test_a_flipped_byte_in_a_data_page_is_repaired_not_a_dead_end(
    project: Path, reference: tuple[Rows, list[str]], where: str, verify: bool
) -> None:
    """Footer intact, pages not: --verify finds it by sha256 before reading; without it, the read
    error of a finished stage's shard recomputes that stage (and those after it) from the cache."""
    assert apply(project, ScriptedEngine(script)).complete
    _flip_in_data_page(FLIPS[where](project))
    engine = ScriptedEngine(script)
    result = apply(project, engine, verify=verify)
    assert result.complete and dataset(project) == reference[0]
    assert engine.calls == []
    if verify or where == "packaged":  # the packaged dataset's sha256 is checked on every apply
        [repair] = result.repairs
        assert "sha256" in repair, repair
    else:  # nothing reads an upstream shard once its successors are done: found by --verify
        assert result.repairs == ()
        assert len(apply(project, ScriptedEngine(script), verify=True).repairs) == 1
    again = apply(project, ScriptedEngine(script), verify=True)
    assert again.complete and again.repairs == () and dataset(project) == reference[0]


def test_damaged_chunks_of_an_unfinished_model_stage_are_redone(
    project: Path, reference: tuple[Rows, list[str]]
) -> None:
    """Chunks written before the stage completed have no manifest to check them against: their
    own records do (rows and rejects of each chunk)."""
    enrich = [i for i in reference[1] if "/enrich/" in i]
    first = failing(set(enrich[:1]))  # enrich chunk 0 unwritten, the later ones (and their rejects) written
    assert not apply(project, first).complete
    [folder] = (project / "run" / "tasks" / "colours" / "enrich").glob("*")
    damaged = sorted((folder / "rejects").glob("part-*.parquet"))
    assert damaged  # the contradicting enrichment of seed 5 was rejected in a written chunk
    for shard in damaged:
        _truncate(shard)
    _truncate(max((folder / "data").glob("part-*.parquet")))
    engine = ScriptedEngine(script)
    assert apply(project, engine).complete and dataset(project) == reference[0]
    assert {r.id for r in engine.calls} == set(enrich[:1])  # the rest came from the cache


def test_a_damaged_cache_and_shard_together_redo_only_those_calls(
    project: Path, reference: tuple[Rows, list[str]]
) -> None:
    assert apply(project, ScriptedEngine(script)).complete
    _truncate(project / "run" / "cache" / "responses.sqlite")
    _stage_shards(project, "generate")[0].unlink()
    engine = ScriptedEngine(script)
    result = apply(project, engine)
    assert result.complete and dataset(project) == reference[0]
    assert len(result.repairs) == 2 and any("response cache" in r for r in result.repairs)
    # the cache was lost: the deleted chunk (3 seeds) and everything downstream is asked again
    assert {r.id.split("/")[1] for r in engine.calls} <= {"generate", "solve", "enrich"}
    assert len([r for r in engine.calls if "/generate/" in r.id]) == 3


def test_a_damaged_state_file_is_rebuilt(project: Path, reference: tuple[Rows, list[str]]) -> None:
    assert apply(project, ScriptedEngine(script)).complete
    _truncate(project / "run" / "state.json")
    engine = ScriptedEngine(script)
    result = apply(project, engine)
    assert result.complete and dataset(project) == reference[0] and engine.calls == []
    assert any("applied state" in r and "moved it aside" in r for r in result.repairs)


def test_verify_finds_a_rewritten_shard_the_cheap_check_cannot(
    project: Path, reference: tuple[Rows, list[str]]
) -> None:
    import pyarrow as pa

    assert apply(project, ScriptedEngine(script)).complete
    shard = _stage_shards(project, "parse")[0]
    table = pq.read_table(shard)
    column = table.schema.get_field_index("question")
    forged = table.set_column(
        column, "question", pa.array(["forged"] * table.num_rows, table.schema.field(column).type)
    )
    pq.write_table(forged, shard)
    assert apply(project, ScriptedEngine(script)).repairs == ()  # same size class, footer and row count
    result = apply(project, ScriptedEngine(script), verify=True)
    assert "sha256" in result.repairs[0] and dataset(project) == reference[0]


# -- 8. chunking changed between runs --------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 4, 100])
def test_a_changed_chunk_size_resumes_to_the_same_rows(
    project: Path, reference: tuple[Rows, list[str]], chunk_size: int
) -> None:
    rows, _ = reference
    result = apply(project, failing(suffix=":4"))  # generate stays incomplete: chunk 0 written, chunk 1 not
    assert not result.complete
    config = project / "tsqa.yaml"
    config.write_text(config.read_text().replace("chunk_size: 3", f"chunk_size: {chunk_size}"))
    engine = ScriptedEngine(script)
    again = apply(project, engine)
    assert again.complete and dataset(project) == rows
    m = again.manifests["colours"]["generate"]
    assert (m.rows_in, m.rows_out) == (6, 6)
    assert [r.id for r in engine.calls if "/generate/" in r.id] == ["colours/generate/colours:4"]
