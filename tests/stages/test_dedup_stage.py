"""Dedup's verdicts per question and their application to a shard of variant rows."""

from __future__ import annotations

import pyarrow as pa

from tsqa.spec.models import TaskSpec
from tsqa.stages.dedup import DedupStage, group_key
from tsqa.stages.schema import SCHEMAS, to_table


def spec(task: str, **dedup: object) -> TaskSpec:
    return TaskSpec.model_validate(
        {"task": task, "seed": {"files": "x.jsonl", "license": "mit"}, "format": "short_answer", "dedup": dedup}
    )


def rows(*questions: tuple[str, str, float]) -> pa.Table:
    return to_table(
        "enrich",
        [
            {"question_id": qid, "seed_id": "s", "question": text, "answer_text": "a", "agreement": agreement,
             "variant": variant}
            for qid, text, agreement in questions
            for variant in ("reasoning", "knowledge")
        ],
    )  # fmt: skip


SEEDS = pa.table({"question": ["an unrelated seed question about rivers and their long winding deltas"],
                  "options": pa.array([None], pa.list_(pa.string()))})  # fmt: skip
TEXT = "which planet in the solar system has the largest number of known moons today"


def test_group_key_is_shared_only_across_tasks() -> None:
    assert group_key(spec("a")) == group_key(spec("b"))
    assert group_key(spec("a", against=["seeds"])) != group_key(spec("b", against=["seeds"]))
    assert group_key(spec("a", enabled=False)) is None
    assert group_key(spec("a", threshold=0.7)) != group_key(spec("b"))


def test_duplicates_within_and_across_tasks_keep_the_best_agreement() -> None:
    stage = DedupStage()
    a = rows(("a:0.0", TEXT, 0.6), ("a:1.0", TEXT + " now", 0.9))
    b = rows(("b:0.0", TEXT, 1.0), ("b:1.0", "a completely different question about sorting algorithms in c", 1.0))
    verdicts = stage.verdicts({"a": (spec("a"), a, SEEDS), "b": (spec("b"), b, SEEDS)}, {}, None)
    # b:0.0 has a:0.0's exact text; a:1.0 is a near copy of a:0.0 with better agreement, so it is the
    # cluster's survivor. Exactly one of the three stays, and the unrelated question is kept.
    assert verdicts == {
        "a": {"a:0.0": ("near_duplicate", "near-duplicate of a/a:1.0")},
        "b": {"b:0.0": ("exact_duplicate", "same text as a/a:0.0")},
    }
    out = stage.apply(a, verdicts["a"])
    assert out.rows_in == 4 and out.kept.schema == SCHEMAS["enrich"]
    rejected = out.rejects.column("id").to_pylist()
    assert all(r.split("/")[1] in ("reasoning", "knowledge") for r in rejected)
    assert out.kept.num_rows + len(rejected) == 4


def test_no_verdicts_keeps_the_shard_as_is() -> None:
    table = rows(("a:0.0", TEXT, 0.5))
    out = DedupStage().apply(table, {})
    assert out.kept.equals(table) and out.rejects.num_rows == 0


def test_question_keys_on_columns() -> None:
    table = pa.table(
        {
            "question_id": ["q1", "q1", "q2", "q3", "q2"],
            "question": ["one?", "one?", "two?", "three?", "two?"],
            "options": pa.array([["a", "b"], ["a", "b"], None, [], None], pa.list_(pa.string())),
        }
    )
    from tsqa.stages.dedup import question_key, question_keys

    assert question_keys(table).to_pylist() == [question_key(r) for r in table.to_pylist()]
    assert question_keys(table).to_pylist()[:4] == ["one? a b", "one? a b", "two?", "three?"]
