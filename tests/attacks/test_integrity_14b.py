"""Attack on the on-disk check of f8196c2/38f0830 (manifest `rejects`, `rows_kept` rows_out vs listed
shards, footer text-type comparison in read_shard): can a LEGITIMATE run directory be judged
damaged (recomputed on every resume, or failing)?

What held (passing tests below): a run directory written by the previous code (58df58b) resumed and
relicensed by the current one (no model call, no repair, the same packaged rows); seed Parquet
columns of unusual types (large_string, string_view, dictionary, list<large_string>, second
timestamps, date64, time32[s], decimal, nested structs) with `shard_rows: 1`, --accept-failures,
every question contaminated (decontaminate keeps 0 rows, 6 rejects shards listed), then a plain
resume, `--verify` and a package replay: never a repair. Probed without a test: zero rows from
parse onward (all generate replies invalid), `--limit 1`, chunk_size changed between runs with the
model stages redone (3 → 2 → 7), and read_shard over ~30 Arrow types: all held.

What broke (failing test below, NOT introduced by this change: dataset_damage dates from f05f8ef
and 58df58b behaves the same): going back to an earlier setting whose stages are all still on disk
(a license changed and changed back; `--limit 2` then `--limit 1` again) reports the package stage
as damaged, because datasets/<task>/ holds the other fingerprint's export.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

APPLY_HELPERS = Path(__file__).resolve().parents[1] / "apply"
sys.path.insert(0, str(APPLY_HELPERS))

BASE = Path("/tmp/basewt/python")  # checkout 58df58b (the code before the change), native module built


def _apply(project: Path, engine: Any = None, **kwargs: Any) -> tuple[Any, int]:
    from scripted_project import scripted_engine

    from tsqa.apply.session import run_apply

    engine = engine or scripted_engine()
    result = run_apply(
        [project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: engine, **kwargs
    )
    return result, len(engine.calls)


def _dataset(project: Path, task: str = "colours") -> list[tuple[str, str]]:
    files = sorted((project / "run" / "datasets" / task).glob("part-*.parquet"))
    return sorted((r["id"], r["text"]) for f in files for r in pq.read_table(f, columns=["id", "text"]).to_pylist())


def _relicense(project: Path, old: str = "cc0-1.0", new: str = "mit") -> None:
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text().replace(f"license: {old}", f"license: {new}"))


_OLD_APPLY = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {helpers!r})
    from pathlib import Path
    import tsqa
    assert tsqa.__file__.startswith({base!r}), tsqa.__file__
    from scripted_project import scripted_engine, write_project
    from tsqa.apply.session import run_apply
    root = Path({root!r})
    write_project(root)
    engine = scripted_engine()
    run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine)
    print("calls", len(engine.calls))
    """
)


@pytest.mark.skipif(not (BASE / "tsqa").is_dir(), reason="the 58df58b checkout is not at /tmp/basewt")
def test_a_run_directory_of_the_previous_code_is_resumed_without_recomputing(tmp_path: Path) -> None:
    """A complete run directory written by 58df58b (dedup and decontaminate manifests with kept
    rows, no `rows_kept`/`rejects` fields) resumed by the current code: nothing is damaged,
    no model call, the same packaged rows; also under --verify, and after a package setting
    changes (package reads the old stages' kept shards)."""
    root = tmp_path / "project"
    code = _OLD_APPLY.format(helpers=str(APPLY_HELPERS), base=str(BASE), root=str(root))
    env = {**os.environ, "PYTHONPATH": str(BASE)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and "calls 37" in done.stdout, done.stderr[-2000:]
    before = _dataset(root)
    assert len(before) == 5
    dedup = json.loads(next((root / "run" / "tasks" / "colours" / "dedup").glob("*/manifest.json")).read_text())
    assert "rows_kept" not in dedup and dedup["shards"]  # really the old format

    result, calls = _apply(root, verify=True)
    assert (calls, list(result.repairs)) == (0, [])
    assert _dataset(root) == before
    _relicense(root)
    result, calls = _apply(root)
    assert (calls, list(result.repairs)) == (0, [])
    assert _dataset(root) == before  # license is not in id/text: the same rows


def _write_typed_project(root: Path) -> None:
    """The scripted project, its seeds a Parquet file of unusual column types, one row per shard,
    and an eval file holding every question the generator writes (decontaminate drops them all)."""
    from scripted_project import COLOURS, THINGS, generator_reply, write_project

    write_project(root)
    n = 6
    questions = [f"What colour is {t}?" for t in THINGS[:n]]
    table = pa.table(
        {
            "question": pa.array(questions, pa.large_string()),
            "choices": pa.array(
                [[COLOURS[i], COLOURS[(i + 1) % 8], COLOURS[(i + 2) % 8]] for i in range(n)],
                pa.list_(pa.large_string()),
            ),
            "answer": pa.array([0] * n, pa.int8()),
            "view": pa.array(questions, pa.string_view()),
            "kind": pa.array(["colour"] * n).dictionary_encode(),
            "kind_large": pa.array(["colour"] * n, pa.large_string()).dictionary_encode(),
            "at": pa.array([datetime.datetime(2020, 1, 1)] * n, pa.timestamp("s")),
            "day": pa.array([datetime.date(2020, 1, 1)] * n, pa.date64()),
            "time": pa.array([datetime.time(1, 2, 3)] * n, pa.time32("s")),
            "price": pa.array([decimal.Decimal("1.50")] * n, pa.decimal128(5, 2)),
            "meta": pa.array([{"source": "x", "tags": ["a"], "inner": {"s": "y"}}] * n),
        }
    )
    (root / "specs" / "seeds.jsonl").unlink()
    pq.write_table(table, root / "specs" / "seeds.parquet")
    spec = root / "specs" / "colours.yaml"
    spec.write_text(spec.read_text().replace("seeds.jsonl", "seeds.parquet"))
    project = root / "tsqa.yaml"
    project.write_text(project.read_text().replace("output: {dir: run}", "output: {dir: run, shard_rows: 1}"))
    generated = [q["question"] for i in (1, 2, 4, 5) for q in json.loads(generator_reply(i))["questions"]]
    (root / "specs" / "eval.jsonl").write_text(
        "\n".join(json.dumps({"question": q, "answer": "x"}) for q in generated) + "\n"
    )


def test_unusual_seed_types_zero_rows_many_shards_and_accepted_failures_are_not_damage(tmp_path: Path) -> None:
    """Seeds of unusual Arrow types through seeds/normalise (the footer type check of read_shard),
    `shard_rows: 1` (many shards and rejects shards), one generate call failing and accepted
    (--accept-failures), every surviving question contaminated (decontaminate keeps 0 rows and
    lists its rejects; package writes one empty shard). A plain resume, `--verify`, and a license
    change (package replays dedup from its rejects and decontaminate): never a repair, no call."""
    from scripted_project import script

    from tsqa.engines.base import Result
    from tsqa.engines.scripted import ScriptedEngine

    root = tmp_path / "project"
    _write_typed_project(root)

    def flaky_script(r: Any) -> Any:
        failing = "/generate/" in r.id and r.id.endswith(":4")
        return Result.failed(r.id, "HTTP 500") if failing else script(r)

    flaky = ScriptedEngine(flaky_script)
    first, calls = _apply(root, flaky, accept_failures=True)
    m = first.manifests["colours"]
    assert calls and list(first.repairs) == []
    assert m["generate"].failures_accepted == 1
    assert len(m["seeds"].shards) == 6 and len(m["normalise"].shards) == 6
    assert m["dedup"].rows_out > 0 and m["decontaminate"].rows_out == 0
    assert len(m["decontaminate"].rejects) == m["dedup"].rows_out  # one rejects shard per row
    assert m["package"].rows_out == 0 and _dataset(root) == []

    for kwargs in ({}, {"verify": True}):
        result, calls = _apply(root, **kwargs)
        assert (calls, list(result.repairs)) == (0, []), kwargs
    _relicense(root)
    result, calls = _apply(root, verify=True)
    assert (calls, list(result.repairs)) == (0, [])
    assert result.manifests["colours"]["package"].rows_out == 0


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    from scripted_project import write_project

    root = tmp_path / "project"
    write_project(root)
    result, calls = _apply(root)
    assert calls and list(result.repairs) == []
    return root


def test_going_back_to_an_earlier_setting_is_not_reported_as_damage(finished: Path) -> None:
    """Pre-existing (58df58b does the same; dataset_damage since f05f8ef), found while probing
    false damage. A user changes the spec's license to mit, applies, changes it back to cc0-1.0
    and applies again: every stage of the cc0-1.0 fingerprint is still on disk, untouched. What the
    user sees: `task 'colours': the package stage is damaged (datasets/colours/part-00000.parquet
    content changed (sha256 differs from the manifest)); recomputing it` -- a
    false alarm about data damage, and the package stage recomputed (now by replaying dedup and
    decontaminate). The same with `--limit 2` then `--limit 1` again ("part-00001.parquet not in
    the package stage's manifest; part-00000.parquet 1 rows, the manifest recorded 0").
    datasets/<task>/ merely holds the export of the other fingerprint. Expected: re-export the
    intact package shards without calling it damage (no repair line)."""
    before = _dataset(finished)
    _relicense(finished)
    result, calls = _apply(finished)
    assert (calls, list(result.repairs)) == (0, [])
    _relicense(finished, "mit", "cc0-1.0")
    result, calls = _apply(finished)
    assert calls == 0
    assert _dataset(finished) == before
    assert list(result.repairs) == [], result.repairs


def test_verify_on_a_fresh_run_reports_nothing(finished: Path, tmp_path: Path) -> None:
    """`tsqa apply --verify` on an untouched run (dedup/decontaminate rejects now listed and
    hashed): no repair, no model call, the same rows; a copied run directory (other inodes, so
    no remembered digest) too."""
    before = _dataset(finished)
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    for root in (finished, copy):
        result, calls = _apply(root, verify=True)
        assert (calls, list(result.repairs)) == (0, []), root
        assert _dataset(root) == before
