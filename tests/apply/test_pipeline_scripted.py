"""The pipeline's logic on crafted answers from a scripted engine (a test double): the exact
outcome of parse, vote, verify, enrich checks, dedup and decontamination, and that every row is
accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from scripted_project import scripted_engine

from tsqa.apply.session import run_apply
from tsqa.engines.base import Engine


def apply(project: Path, engine: Engine):  # type: ignore[no-untyped-def]
    return run_apply([project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: engine)


def rejects(project: Path, manifest) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    folder = project / "run" / "tasks" / manifest.task / manifest.stage / manifest.fingerprint / "rejects"
    if not folder.exists():
        return []
    rows = [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted((r["id"], r["reason"]) for r in rows)


def test_exact_outcome_of_every_stage(project: Path) -> None:
    result = apply(project, scripted_engine())
    m = result.manifests["colours"]
    flow = {stage: (x.rows_in, x.rows_out, x.rejections) for stage, x in m.items()}
    assert flow == {
        "seeds": (6, 6, {}),
        "normalise": (6, 6, {}),
        "generate": (6, 6, {}),
        "parse": (10, 7, {"invalid_json": 1, "answer_not_in_options": 1, "near_copy_of_seed": 1}),
        "solve": (7, 7, {}),
        "verify": (7, 5, {"low_agreement": 2}),
        "enrich": (10, 8, {"contradicts_answer": 2}),
        "dedup": (8, 6, {"exact_duplicate": 2}),
        "decontaminate": (6, 5, {"contaminated": 1}),
        "package": (5, 5, {}),
    }
    assert rejects(project, m["parse"]) == [
        ("colours:0", "invalid_json"),
        ("colours:1", "answer_not_in_options"),
        ("colours:3", "near_copy_of_seed"),
    ]
    assert rejects(project, m["verify"]) == [("colours:4.0", "low_agreement"), ("colours:4.1", "low_agreement")]
    assert [r for r, _ in rejects(project, m["enrich"])] == [
        "colours/enrich/colours:5.0/knowledge",
        "colours/enrich/colours:5.1/knowledge",
    ]
    assert rejects(project, m["dedup"]) == [
        ("colours:2.1/knowledge", "exact_duplicate"),
        ("colours:2.1/reasoning", "exact_duplicate"),
    ]
    assert rejects(project, m["decontaminate"]) == [("colours:5.1/reasoning", "contaminated")]


def test_rows_are_accounted_for(project: Path) -> None:
    m = apply(project, scripted_engine()).manifests["colours"]
    for stage in ("normalise", "parse", "verify", "enrich", "dedup", "decontaminate"):
        assert m[stage].rows_in == m[stage].rows_out + sum(m[stage].rejections.values()), stage
    assert m["parse"].rows_in >= m["generate"].rows_out  # one response holds up to per_seed questions
    assert m["enrich"].rows_in == m["verify"].rows_out * 2  # two variants


def test_packaged_dataset_blend_report(project: Path) -> None:
    result = apply(project, scripted_engine())
    rows = pq.read_table(project / "run" / "datasets" / "colours" / "part-00000.parquet").to_pylist()
    assert len(rows) == 5
    row = next(r for r in rows if r["question_id"] == "colours:1.0" and r["variant"] == "reasoning")
    assert row["answer_text"] == "thing 1a" and row["options"] == [
        "thing 1a",
        "thing 1c",
        "thing 1b",
    ]  # parse's shuffle
    assert row["text"].endswith("Answer: thing 1a") and "The final answer is" not in row["text"]
    assert row["agreement"] == 2 / 3 and row["license"] == "cc0-1.0"
    provenance = json.loads(row["provenance"])
    assert provenance["generator"]["model"] == "local/generator" and provenance["solver"]["samples"] == 3
    blend = json.loads(result.blend.read_text())
    assert blend["tasks"][0]["rows"] == 5 and blend["tasks"][0]["tokens"] > 0
    assert blend["megatron_data_path"] == [1.0, "datasets/colours/part-00000.parquet"]
    report = result.report.read_text()
    assert "| colours | parse | invalid_json | 1 |" in report
    assert (project / "run" / "report" / "rejections.png").stat().st_size > 1000


def test_second_apply_repeats_no_model_call(project: Path) -> None:
    apply(project, scripted_engine())
    again = scripted_engine()
    result = apply(project, again)
    assert again.calls == []
    assert result.manifests["colours"]["package"].rows_out == 5


def test_changing_the_verifier_reuses_cached_generations(project: Path) -> None:
    spec = project / "specs" / "colours.yaml"
    original = spec.read_text()
    spec.write_text(original + "verify: {min_agreement: 0.9}\n")
    first = apply(project, scripted_engine())
    assert first.manifests["colours"]["verify"].rows_out == 0  # every kept question had 2 of 3 votes
    spec.write_text(original + "verify: {min_agreement: 0.6}\n")
    engine = scripted_engine()
    result = apply(project, engine)
    # The 2-of-3 questions now pass; only their enrichments are new model calls. (Seed 4's split
    # votes, 1 of 3, stay out at any min_agreement: that is all a position preference could give.)
    assert result.manifests["colours"]["verify"].rows_out == 5
    assert sorted({c.id.split("/")[1] for c in engine.calls}) == ["enrich"]
    assert len(engine.calls) == 10  # 5 newly kept questions × 2 variants


def test_a_dead_endpoint_stops_the_run_and_a_resume_finishes_it(project: Path) -> None:
    import pytest

    from tsqa.apply.session import ApplyFailed
    from tsqa.engines.base import Result
    from tsqa.engines.scripted import ScriptedEngine

    down = ScriptedEngine(lambda r: Result.failed(r.id, "gave up after 7 attempts: ClientConnectorError"))
    with pytest.raises(ApplyFailed) as info:
        apply(project, down)
    assert "requests failed; first error: gave up after 7 attempts" in info.value.lines[0]
    assert "run apply again to resume" in info.value.lines[1]
    assert not list((project / "run" / "tasks" / "colours" / "generate").glob("*/manifest.json"))
    result = apply(project, scripted_engine())  # the endpoint is back: nothing was recorded as failed
    assert result.manifests["colours"]["package"].rows_out == 5


def test_a_failed_request_is_not_a_result_unless_accepted(project: Path) -> None:
    """Issue 11: a request that failed after retries leaves its stage incomplete (the next apply
    retries it); only --accept-failures records it as an engine_error reject."""
    from scripted_project import script

    from tsqa.engines.base import Result
    from tsqa.engines.scripted import ScriptedEngine

    flaky = ScriptedEngine(lambda r: Result.failed(r.id, "HTTP 500") if r.id.endswith(":4") else script(r))
    result = apply(project, flaky)
    assert (result.complete, result.failed_calls) == (False, 1)
    assert "generate" not in result.manifests["colours"]
    accepted = run_apply(
        [project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: flaky, accept_failures=True
    )
    m = accepted.manifests["colours"]
    assert accepted.complete and m["generate"].failures_accepted == 1
    assert m["parse"].rejections["engine_error"] == 1


def test_decontamination_searches_the_eval_store(project: Path) -> None:
    import pyarrow as pa

    from tsqa.seeds.eval_store import EvalStore

    spec = project / "specs" / "colours.yaml"
    spec.write_text(
        spec.read_text().replace("decontaminate: {eval_files: [eval.jsonl], ngram: 8}", "decontaminate: {ngram: 8}")
    )
    store = EvalStore(project / ".tsqa" / "eval")  # beside the default seed store .tsqa/seeds
    store.write(
        "rainbow_quiz",
        "test",
        pa.table(
            {
                "question": [
                    "In the standard rainbow order which colour comes directly after green and before indigo?"
                ],
                "answer": ["blue"],
            }
        ),
    )
    m = apply(project, scripted_engine()).manifests["colours"]
    assert m["decontaminate"].rejections == {"contaminated": 1}
    assert rejects(project, m["decontaminate"]) == [("colours:5.1/reasoning", "contaminated")]


def test_a_later_run_dedups_against_the_saved_index_of_an_earlier_one(project: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    import shutil

    first = apply(project, scripted_engine())
    saved = sorted((project / "run" / "dedup-index").glob("*.index"))
    assert len(saved) == 1 and first.manifests["colours"]["package"].rows_out == 5
    # A second project generates the same questions; it names the first run's index.
    later = tmp_path_factory.mktemp("later")
    shutil.copytree(project / "specs", later / "specs")
    shutil.copy(project / "tsqa.yaml", later / "tsqa.yaml")
    spec = later / "specs" / "colours.yaml"
    spec.write_text(spec.read_text() + f"dedup: {{against: [seeds, tasks, index], index: ['{saved[0]}']}}\n")
    m = apply(later, scripted_engine()).manifests["colours"]
    assert m["dedup"].rejections.get("duplicate_of_index", 0) == m["dedup"].rows_in - m["dedup"].rejections.get(
        "exact_duplicate", 0
    )
    assert m["package"].rows_out == 0


def test_a_damaged_index_is_a_clear_error(project: Path) -> None:
    import pytest

    from tsqa.apply.session import ApplyFailed

    (project / "specs" / "broken.index").write_bytes(b"not an index")
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text() + "dedup: {against: [index], index: [broken.index]}\n")
    with pytest.raises(ApplyFailed) as info:
        apply(project, scripted_engine())
    assert "dedup index" in info.value.lines[0] and "broken.index" in info.value.lines[0]


def test_a_saved_plan_is_applied_and_refused_once_stale(project: Path) -> None:
    import pytest

    from tsqa.apply.session import ApplyFailed
    from tsqa.compile import compile_plan
    from tsqa.compile.saved import save_plan
    from tsqa.lint import lint_paths
    from tsqa.store.state import AppliedState

    checked = lint_paths([project / "specs"], project_file=project / "tsqa.yaml")
    plan_file = project / "plan.json"
    save_plan(
        compile_plan(checked.project, checked.specs, AppliedState(), catalog_version=_catalog_version()), plan_file
    )
    engine = scripted_engine()
    assert run_apply([plan_file], engine_factory=lambda cfg: engine).manifests["colours"]["package"].rows_out == 5
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text() + "blend: {weight: 3}\n")
    with pytest.raises(ApplyFailed) as info:
        run_apply([plan_file], engine_factory=lambda cfg: engine)
    assert "is stale" in info.value.lines[0] and str(spec) in info.value.lines[1]


def _catalog_version() -> str:
    from tsqa.seeds.catalog import load_catalog

    return load_catalog().lm_eval_version


def test_answer_by_text_votes_on_option_texts_and_a_resume_reuses_them(project: Path) -> None:
    """`verify.answer_by: text`: each vote sample's schema is an enum of the options it was shown,
    it answers with an option's text, the vote counts texts (same verdicts as the letter script).
    A run stopped by failing solver calls resumes with the answers it had cached, and switching back
    to letters asks again: the per-request schema and prompt are in the cache key."""
    import re

    import pytest
    from scripted_project import script

    from tsqa.apply.session import ApplyFailed
    from tsqa.engines.base import Request, Result
    from tsqa.engines.scripted import ScriptedEngine

    spec = project / "specs" / "colours.yaml"
    original = spec.read_text()
    spec.write_text(original + "verify: {answer_by: text}\n")

    def by_text(request: Request) -> str | list[str]:
        reply = script(request)
        if "/solve/" not in request.id:
            return reply
        shown = re.findall(r"^[A-Z]\. (.*)$", request.messages[-1].content, re.MULTILINE)
        assert request.json_schema is not None
        assert request.json_schema["properties"]["answer"]["enum"] == shown  # only the options shown
        assert "copied exactly" in request.messages[-1].content
        letter = str(reply).rsplit(": ", 1)[1]
        return json.dumps({"answer": shown[ord(letter) - ord("A")]})

    half: list[str] = []

    def fails_late(request: Request) -> Result | str | list[str]:
        if "/solve/" in request.id and len(half) >= 6:
            return Result.failed(request.id, "HTTP 503")
        half.append(request.id) if "/solve/" in request.id else None
        return by_text(request)

    with pytest.raises(ApplyFailed, match="requests failed; first error: HTTP 503"):
        apply(project, ScriptedEngine(fails_late))
    assert len(half) == 6
    resumed = ScriptedEngine(by_text)
    result = apply(project, resumed)
    assert result.manifests["colours"]["verify"].rows_out == 5  # as with letters: the vote is on texts
    asked = {c.id for c in resumed.calls if "/solve/" in c.id}
    assert asked and not asked & set(half)  # the 6 answered samples came from the cache
    again = ScriptedEngine(by_text)
    apply(project, again)
    assert again.calls == []

    spec.write_text(original)  # back to letters: new requests (other schema), the same verdicts
    letters = scripted_engine()
    result = apply(project, letters)
    solved = [c for c in letters.calls if "/solve/" in c.id]
    assert solved and all(c.json_schema["properties"]["answer"]["enum"][0] == "A" for c in solved)  # type: ignore[index]
    assert result.manifests["colours"]["verify"].rows_out == 5
