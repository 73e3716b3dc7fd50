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
import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

APPLY_HELPERS = Path(__file__).resolve().parents[1] / "apply"
sys.path.insert(0, str(APPLY_HELPERS))
from scripted_project import apply_scripted as _apply  # noqa: E402
from scripted_project import packaged_texts as _dataset  # noqa: E402


def _relicense(project: Path, old: str = "cc0-1.0", new: str = "mit") -> None:
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text().replace(f"license: {old}", f"license: {new}"))


def _write_old_layout(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A complete run in the layout of the code before the one pass (58df58b): dedup and
    decontaminate keep their rows as data shards, and no manifest has `rows_kept`/`rejects`."""
    from scripted_project import write_project

    from tsqa.stages.decontaminate import DecontaminateStage
    from tsqa.stages.dedup import DedupStage

    write_project(root)
    with monkeypatch.context() as m:
        m.setattr(DedupStage, "keeps_rows", True)
        m.setattr(DecontaminateStage, "keeps_rows", True)
        _, calls = _apply(root)
    assert calls == 37
    for manifest in (root / "run" / "tasks").glob("*/*/*/manifest.json"):
        data = json.loads(manifest.read_text())
        assert data.pop("rows_kept") is True and data.pop("rejects") == []
        manifest.write_text(json.dumps(data))


def test_a_run_directory_of_the_previous_code_is_resumed_without_recomputing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A complete run directory in the layout 58df58b wrote (dedup and decontaminate manifests with
    kept rows, no `rows_kept`/`rejects` fields) resumed by the current code: nothing is damaged,
    no model call, the same packaged rows; also under --verify, and after a package setting
    changes (package reads the old stages' kept shards). (Checked once with 58df58b itself
    writing the run directory: the same.)"""
    root = tmp_path / "project"
    _write_old_layout(root, monkeypatch)
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
