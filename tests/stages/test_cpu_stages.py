"""The CPU stages on hand-made Arrow tables: what they keep, what they reject and why, and the
exact columns they write."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st
from stage_project import Compiled

from tsqa.compile.stages import Stage
from tsqa.compile.tokens import TokenCounter
from tsqa.spec.models import VoteVerify
from tsqa.stages.blend import build_blend
from tsqa.stages.decontaminate import decontaminate, eval_sources
from tsqa.stages.package import package_table
from tsqa.stages.packaged_text import _FINAL_TAIL, _strip_final_line, render_text, render_texts
from tsqa.stages.schema import SCHEMAS, to_table
from tsqa.stages.verify import verify_columns

QUESTIONS = [
    {
        "question_id": "quiz:0.0",
        "seed_id": "quiz:0",
        "question": "Which gas do green plants release into the air during photosynthesis?",
        "options": ["oxygen", "argon", "neon"],
        "answer_index": 0,
        "answer_text": "oxygen",
        "agreement": 1.0,
        "votes": 4,
        "total": 4,
        "variant": "reasoning",
        "enrichment": "Plants split water. The final answer is: A",
    },
    {
        "question_id": "quiz:1.0",
        "seed_id": "quiz:1",
        "question": "What is the boiling point of water at sea level in degrees Celsius?",
        "options": ["90", "100", "110"],
        "answer_index": 1,
        "answer_text": "100",
        "agreement": 0.75,
        "votes": 3,
        "total": 4,
        "variant": "knowledge",
        "enrichment": None,
    },
]


def test_render_texts_equals_render_text_row_by_row() -> None:
    table = to_table("enrich", QUESTIONS)
    assert render_texts(table).to_pylist() == [render_text(q) for q in QUESTIONS]
    assert render_text(QUESTIONS[0]).endswith("Plants split water.\n\nAnswer: oxygen")


def test_verify_votes_column_wise() -> None:
    solved = to_table(
        "solve",
        [
            {**QUESTIONS[0], "samples": ["The final answer is: A"] * 3 + ["B"], "error": None},
            {**QUESTIONS[1], "samples": ["A", "B", "C", "A"], "error": None},  # 2/4 for A: low agreement
            {**QUESTIONS[1], "question_id": "quiz:2.0", "samples": [], "error": "HTTP 500"},
            {**QUESTIONS[1], "question_id": "quiz:3.0", "samples": ["A", "A", "A", "C"], "error": None},
        ],
    )
    out = verify_columns(solved, "multiple_choice", VoteVerify(samples=4, min_agreement=0.6))
    assert out.kept.schema == SCHEMAS["verify"]
    assert out.kept.select(["question_id", "winner", "votes", "total", "agreement"]).to_pylist() == [
        {"question_id": "quiz:0.0", "winner": "oxygen", "votes": 3, "total": 4, "agreement": 0.75}
    ]
    assert sorted(zip(out.rejects.column("id").to_pylist(), out.rejects.column("reason").to_pylist())) == [
        ("quiz:1.0", "low_agreement"),
        ("quiz:2.0", "engine_error"),
        ("quiz:3.0", "answer_mismatch"),  # 3/4 agree on A, the generator said B
    ]


def test_decontaminate_rejects_rows_overlapping_eval_records(compiled: Compiled) -> None:
    table = to_table("enrich", QUESTIONS)
    out = decontaminate(compiled.loaded, table, eval_sources(compiled.loaded, []))
    assert out.kept.column("question_id").to_pylist() == ["quiz:1.0"]
    assert out.rejects.to_pylist() == [
        {
            "id": "quiz:0.0/reasoning",
            "reason": "contaminated",
            "detail": "6 shared 6-grams with eval records ['eval.jsonl:0']",
        }
    ]


def test_package_columns_and_provenance_from_the_plan(compiled: Compiled) -> None:
    plan = compiled.plan.tasks[0]
    out = package_table(compiled.loaded.spec, plan, to_table("decontaminate", QUESTIONS))
    assert out.schema == SCHEMAS["package"]
    first = out.to_pylist()[0]
    assert first["id"] == "quiz/quiz:0.0/reasoning" and first["group"] == "science" and first["samples"] == 4
    assert first["license"] == "cc-by-4.0" and first["text"] == render_text(QUESTIONS[0])
    provenance = json.loads(first["provenance"])
    assert provenance["generator"]["model"] == "org/gen" and provenance["generator"]["revision"] == "r1"
    assert provenance["solver"]["model"] == "org/solver" and provenance["solver"]["samples"] == 4
    assert provenance["fingerprints"]["package"] == plan.stage(Stage.PACKAGE).fingerprint


def test_blend_splits_task_weight_over_shards_by_tokens(compiled: Compiled, tmp_path: Path) -> None:
    dataset = tmp_path / "run" / "datasets" / "quiz"
    dataset.mkdir(parents=True)
    pq.write_table(pa.table({"text": ["a b c", "d e f g h i"]}), dataset / "part-00000.parquet")
    pq.write_table(pa.table({"text": ["x y z"]}), dataset / "part-00001.parquet")
    words = TokenCounter("words", lambda t: len(t.split()))
    blend = build_blend(compiled.plan, {"quiz": dataset}, tmp_path / "run", {"quiz": words})
    assert blend["tasks"][0]["rows"] == 3 and blend["tasks"][0]["tokens"] == 12
    assert blend["megatron_data_path"] == [
        0.75,
        "datasets/quiz/part-00000.parquet",
        0.25,
        "datasets/quiz/part-00001.parquet",
    ]


def test_blend_decodes_every_column_unless_package_just_wrote_them(compiled: Compiled, tmp_path: Path) -> None:
    import pytest

    from tsqa.store.shards import UnreadableShard

    dataset = tmp_path / "run" / "datasets" / "quiz"
    dataset.mkdir(parents=True)
    table = pa.table({"other": [f"damaged value {i:04d}" for i in range(500)], "text": ["a b c"] * 500})
    pq.write_table(table, dataset / "part-00000.parquet", compression="none", write_page_checksum=True)
    data = bytearray((dataset / "part-00000.parquet").read_bytes())
    data[data.index(b"damaged value 0250") + 3] ^= 0x01  # a page of `other`; the footer still reads
    (dataset / "part-00000.parquet").write_bytes(bytes(data))
    words = TokenCounter("words", lambda t: len(t.split()))
    with pytest.raises(UnreadableShard):  # an earlier run's dataset: every page is checked
        build_blend(compiled.plan, {"quiz": dataset}, tmp_path / "run", {"quiz": words})
    fresh = build_blend(compiled.plan, {"quiz": dataset}, tmp_path / "run", {"quiz": words}, frozenset({"quiz"}))
    assert fresh["tasks"][0]["rows"] == 500 and fresh["tasks"][0]["tokens"] == 1500


def test_normalise_shard_by_shard_equals_the_whole_split(compiled: Compiled) -> None:
    from tsqa.stages.base import TaskContext
    from tsqa.stages.normalise import NormaliseStage

    docs = pa.table(
        {
            "question": [f"Question number {i}?" for i in range(5)] + [""],
            "choices": [["x", "y", "z"]] * 6,
            "answer": [i % 3 for i in range(6)],
        }
    )
    task = TaskContext(compiled.loaded, compiled.project, compiled.plan.tasks[0], None, None, None)  # type: ignore[arg-type]
    stage = NormaliseStage()
    whole = stage.process(docs, task)
    parts = list(stage.process_stream(iter([docs.slice(0, 2), docs.slice(2, 2), docs.slice(4)]), task))
    assert pa.concat_tables([p.kept for p in parts]).equals(whole.kept)
    assert pa.concat_tables([p.rejects for p in parts]).to_pylist() == whole.rejects.to_pylist()
    assert whole.kept.column("seed_id").to_pylist() == [f"quiz:{i}" for i in range(5)]
    assert whole.rejects.column("id").to_pylist() == ["quiz:5"]


_PIECES = ["the", "The ", "final", "FİNAL", "fınal", "answer", "ANSWER", "is", ":", " ", "\n", "\xa0", "x", "."]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20).map("".join))
def test_final_line_stripped_as_the_regex_alone_strips_it(text: str) -> None:
    """The closing "final answer" is looked for only at each "final" (and the "the" before it):
    exactly what `_FINAL_TAIL.sub` over the whole text removes."""
    assert _strip_final_line(text) == _FINAL_TAIL.sub("", text.strip()).strip()
    assert _strip_final_line("Because x.\nThe final answer is: B") == "Because x."
