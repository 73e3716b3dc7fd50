"""`output.shard_rows` cuts every stage's output (and the packaged dataset) into shards of at most
that many rows; the rows themselves do not change."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from scripted_project import scripted_engine

from tsqa.apply.session import run_apply


def packaged(root: Path) -> list[dict[str, object]]:
    parts = sorted((root / "run" / "datasets" / "colours").glob("part-*.parquet"))
    return sorted((r for p in parts for r in pq.read_table(p).to_pylist()), key=lambda r: str(r["id"]))


def test_small_shards_same_rows(project: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    import shutil

    reference = tmp_path_factory.mktemp("reference")
    shutil.copytree(project, reference, dirs_exist_ok=True)
    engine = scripted_engine()
    run_apply([reference / "specs"], project_file=reference / "tsqa.yaml", engine_factory=lambda cfg: engine)

    config = project / "tsqa.yaml"
    config.write_text(config.read_text().replace("output: {dir: run}", "output: {dir: run, shard_rows: 2}"))
    engine = scripted_engine()
    result = run_apply([project / "specs"], project_file=config, engine_factory=lambda cfg: engine)
    m = result.manifests["colours"]
    assert [s.rows for s in m["normalise"].shards] == [2, 2, 2]
    assert [s.rows for s in m["package"].shards] == [2, 2, 1]
    assert all(s.rows <= 2 for stage in ("parse", "verify") for s in m[stage].shards)
    # dedup and decontaminate hand their rows to package in the same pass: no data shards, only
    # their rejects (listed, also cut at shard_rows), and the rows they passed on counted
    for stage in ("dedup", "decontaminate"):
        assert not m[stage].rows_kept and m[stage].shards == []
        assert m[stage].rows_out == m[stage].rows_in - sum(m[stage].rejections.values())
        assert sum(s.rows for s in m[stage].rejects) == sum(m[stage].rejections.values())
        assert all(s.rows <= 2 for s in m[stage].rejects)
    assert m["decontaminate"].rows_out == m["package"].rows_in == m["dedup"].rows_out - 1
    assert packaged(project) == packaged(reference)
    blend = json.loads(result.blend.read_text())
    assert [s["rows"] for s in blend["tasks"][0]["shards"]] == [2, 2, 1]
