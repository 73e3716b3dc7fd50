"""The quality report, computed from a written run directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from run_fixture import build_run

from tsqa.report import build_report, write_report
from tsqa.report.__main__ import main
from tsqa.report.metrics import distinct_n, mean_pairwise_similarity, similarity_to_seeds
from tsqa.report.write import SECTIONS


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run(tmp_path_factory.mktemp("run"))


def test_numbers_a_data_team_checks(run: Path) -> None:
    report = build_report(run)
    mcq, short = (next(t for t in report.tasks if t.task == name) for name in ("mcq", "short"))
    assert (mcq.seeds, mcq.questions, mcq.rows) == (40, 40, 80)  # two variants per question
    assert mcq.positions is not None and mcq.positions.seeds == [0, 0, 0, 40]
    assert mcq.positions.seeds_p is not None and mcq.positions.seeds_p < 1e-6  # seeds: answer always last
    assert mcq.positions.outputs_p is not None and mcq.positions.outputs_p > 0.01  # outputs: shuffled
    assert short.positions is None
    assert 0 < mcq.diversity.distinct["distinct-1"][1] < mcq.diversity.distinct["distinct-3"][1] <= 1  # type: ignore[operator]
    assert mcq.diversity.to_own_seed is not None and mcq.diversity.to_own_seed < 0.2
    reasons = {(r["stage"], r["reason"]): r for r in mcq.rejections}
    assert reasons[("verify", "low_agreement")]["count"] == 3
    assert reasons[("verify", "low_agreement")]["example_id"] == "mcq:r0"
    assert reasons[("parse", "duplicate_options")]["example"].startswith("options must be")
    assert sorted(mcq.agreement_rejected) == [1 / 3] * 3 + [1.0]
    assert len(mcq.agreement_kept) == 40
    assert mcq.lengths["enrichment"][0] is None and mcq.lengths["enrichment"][1] is not None
    assert report.tokens_by_group["knowledge"] > 0 and set(report.tokens_by_group) == {"knowledge", "reasoning"}
    sample = mcq.samples[0]
    assert sample["seed"]["question"].startswith("Which river number 0")
    assert set(sample["output"]["enrichments"]) == {"reasoning", "knowledge"}
    assert mcq.yields["package"] == 80 and mcq.yields["verify"] == 40


def test_metrics() -> None:
    assert distinct_n(["a b a b"], 1) == 0.5 and distinct_n(["a b a b"], 2) == 2 / 3
    assert distinct_n(["a"], 2) is None
    same = ["the quick brown fox jumps over the lazy dog"] * 3
    assert mean_pairwise_similarity(same) == 1.0 and mean_pairwise_similarity(same[:1]) is None
    different = [
        "the quick brown fox jumps over",
        "a slow green turtle walks under",
        "seven red apples fell from trees",
    ]
    assert mean_pairwise_similarity(different) < 0.1  # type: ignore[operator]
    own, nearest = similarity_to_seeds(different[:1], different[1:2], different)
    assert own is not None and own < 0.1 and nearest == 1.0  # its nearest seed is itself


def test_markdown_and_self_contained_html(run: Path) -> None:
    md, page = write_report(run)
    text = md.read_text()
    for _, title in SECTIONS:
        assert f"## {title}" in text
    for image in re.findall(r"\]\((report/[a-z]+\.png)\)", text):
        assert (run / image).stat().st_size > 1000
    assert {"positions", "lengths", "diversity", "agreement", "rejections", "tokens"} <= {
        p.stem for p in (run / "report").glob("*.png")
    }
    html = page.read_text()
    assert not re.search(r"(src|href)=['\"](?!data:|#)", html)  # nothing outside the page
    assert html.count("data:image/png;base64,") == 6
    assert "<script" not in html


def test_cli_and_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 1
    assert "no such run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 1
    assert "not a run directory" in capsys.readouterr().err


def test_the_same_report_from_many_shards(tmp_path: Path) -> None:
    """The report reads shard by shard: splitting every shard of a run into small ones (a question's
    variant rows on either side of a shard boundary) changes no number."""
    import dataclasses

    import pyarrow.parquet as pq

    one, many = build_run(tmp_path / "one"), build_run(tmp_path / "many")
    for path in sorted(many.rglob("part-00000.parquet")):
        table = pq.read_table(path)
        path.unlink()
        for k, start in enumerate(range(0, table.num_rows, 7)):  # odd size: variants split across shards
            pq.write_table(table.slice(start, 7), path.parent / f"part-{k:05d}.parquet")
    assert len(list((many / "datasets" / "mcq").glob("part-*.parquet"))) > 5

    def numbers(root: Path) -> list[dict[str, object]]:
        return [
            {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in dataclasses.asdict(t).items()}
            for t in build_report(root).tasks
        ]

    assert numbers(many) == numbers(one)
