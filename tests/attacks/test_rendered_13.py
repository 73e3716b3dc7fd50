"""Attacks on the rendered-text content check (seeds/rendered.py, content.check_rows with a batch
renderer; commits dbce4b4, da02c60): an eval question that the spec's field templates assemble from
harmless-looking columns must be refused by fetch, plan and apply's seed read, whatever the batch
boundaries, failing rows or process_docs around it; honest rows must pass; no tracebacks.

The holes found (three render-bound rows first, or at a batch start, hid every later row's rendering;
a row process_docs drops turned the rendered check off for its batch) are fixed: every row is
rendered as apply renders it, row by row where process_docs changes the row count."""

from __future__ import annotations

from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from attack_helpers import Attack, Workspace
from test_content import EVAL, files_spec, jsonl, with_eval_store
from test_content_short import _apply_seed_read

from tsqa.seeds import content
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.content import EvalRecords, check_rows
from tsqa.seeds.rendered import rendered_texts
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import StageError

Row = dict[str, Any]
QUESTIONS = [
    "Which layer of the atmosphere holds most of the ozone that shields living things from ultraviolet light?",
    "What process do green plants use to turn sunlight water and carbon dioxide into sugar and oxygen?",
]
EVALS = [EvalRecords.from_rows("eval", [{"question": q, "answer": "x"} for q in QUESTIONS])]
POISON = 2_000_000  # `'x' * pad` goes over the render bound (1,000,000 characters) at once


def _thirds(question: str) -> Row:
    """The question's thirds stored as (c, a, b): no 13 words of it in the row's own order."""
    w = question.split()
    k = len(w) // 3
    return {"c": " ".join(w[2 * k :]), "a": " ".join(w[:k]), "b": " ".join(w[k : 2 * k])}


def _honest(i: int) -> str:
    return f"how many apples does farmer number {i} keep in the old red barn today"


def _rows(count: int, eval_at: dict[int, str], poison: set[int] = frozenset(), **extra: Any) -> list[Row]:  # type: ignore[assignment]
    return [
        {"pad": POISON if i in poison else 0, **_thirds(eval_at.get(i) or _honest(i)), "answer": "blue", **extra}
        for i in range(count)
    ]


def _spec(question: str = "{{ 'x' * pad }}{{ a }} {{ b }} {{ c }}", **fields: str) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"files": "train.jsonl", "license": "mit"},
            "format": "short_answer",
            "fields": {"question": question, "answer": "{{ answer }}", **fields},
        }
    )


def _apply_questions(spec: TaskSpec, table: pa.Table, shard_rows: int = 1_000_000) -> list[str]:
    """The questions apply's normalise stage (process_stream, as the executor drives it) emits."""
    from tsqa.stages.normalise import NormaliseStage

    class _Task:
        pass

    task = _Task()
    task.spec = spec  # type: ignore[attr-defined]
    shards = (table.slice(s, shard_rows) for s in range(0, table.num_rows, shard_rows))
    return [q for out in NormaliseStage().process_stream(shards, task) for q in out.kept.column("question").to_pylist()]  # type: ignore[arg-type]


def _batched(spec: TaskSpec, table: pa.Table) -> list[int]:
    return [m.row for m in check_rows(table, EVALS, partial(rendered_texts, spec, load_catalog())).matches]


# -- 1. rows that go over a render bound: normalise stops rendering the rest of the batch ----------
# normalise() stops rendering after BOUNDED_FAILURES_TO_STOP (3) documents in a row fail on a render
# bound before any succeeds ("not rendered: …"): rendered_texts gives those rows no texts. apply's
# normalise stage (process_stream) has no such stop: it renders every row, the eval question too.


def test_three_poison_rows_first_hide_an_assembled_eval_question() -> None:
    spec, table = _spec(), pa.Table.from_pylist(_rows(10, {5: QUESTIONS[0]}, poison={0, 1, 2}))
    assert QUESTIONS[0] in _apply_questions(spec, table)  # apply renders it
    assert _batched(spec, table) == [5]


def test_three_poison_rows_at_a_batch_start_hide_that_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 8)
    spec, table = _spec(), pa.Table.from_pylist(_rows(16, {13: QUESTIONS[1]}, poison={8, 9, 10}))
    assert QUESTIONS[1] in _apply_questions(spec, table, shard_rows=5)
    assert _batched(spec, table) == [13]


def test_poison_rows_after_a_good_row_hide_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: once a row of the batch rendered, bounded rows fail one by one."""
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 8)
    spec, table = _spec(), pa.Table.from_pylist(_rows(16, {13: QUESTIONS[1]}, poison={9, 10, 11, 12}))
    assert _batched(spec, table) == [13]


def test_poison_rows_end_to_end_fetch(ws: Workspace) -> None:
    _poison_workspace(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "seed rows are eval rows" in result.output, result.output


# -- 2. process_docs that drops a row: rendered_texts gives None for the whole batch -----------------
# paws_en's process_docs filters out documents with an empty sentence1/sentence2: one such row in a
# batch makes the batch "unmappable", so none of its rows' rendered texts are compared. apply runs
# process_docs over the whole split and renders the remaining rows, the assembled eval question too.


def _paws_spec() -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"lm_eval": "paws_en", "license": "mit"},
            "format": "short_answer",
            "fields": {"question": "{{ sentence1 | replace('Q', 'e') }}", "answer": "{{ label }}"},
        }
    )


def _paws_rows(dropped: bool) -> list[Row]:
    rows = [_paws_row(0, _honest(0))]
    if dropped:
        rows.append(_paws_row(1, _honest(1), sentence1=""))
    return [*rows, _paws_row(2, QUESTIONS[0])]


def test_process_docs_without_a_dropped_row_is_checked() -> None:
    """Control: with every row kept, the assembled eval question is found."""
    assert _batched(_paws_spec(), pa.Table.from_pylist(_paws_rows(False))) == [1]


def test_a_row_process_docs_drops_hides_an_assembled_eval_question() -> None:
    from tsqa.seeds.normalise import normalise

    spec, table = _paws_spec(), pa.Table.from_pylist(_paws_rows(True))
    questions = [r.question for r in normalise(spec, load_catalog().get("paws_en"), table).records]
    assert QUESTIONS[0] in questions  # apply (process_docs over the whole split) renders it
    assert _batched(spec, table) == [2]


def _poison_workspace(ws: Workspace, batch: int = 0) -> None:
    """Honest rows up to `batch`, then 3 render-bound rows, 3 honest ones and the EVAL questions
    assembled from out-of-order columns. `batch` 0: the poison rows open the file; else set
    content.CHECK_BATCH_ROWS to `batch` (or write 20,000 rows) so they open the second batch."""
    rows = _rows(batch, {}) + _rows(6, {}, poison={0, 1, 2})
    rows += [{"pad": 0, **_thirds(str(r["question"])), "answer": "blue"} for r in EVAL]
    spec = (
        "task: attack\nformat: short_answer\n"
        "seed: {files: ../data/train.jsonl, license: mit, columns: [pad, a, b, c, answer]}\n"
        'fields: {question: "{{ \'x\' * pad }}{{ a }} {{ b }} {{ c }}", answer: "{{ answer }}"}\n'
    )
    ws.build(Attack(spec, {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)


def _stored_questions(ws: Workspace) -> list[str]:
    """What apply's seed stage reads (the fetched snapshot, or the file read and checked) and its
    normalise stage then turns into questions."""
    from tsqa.spec.load import load_project, load_spec
    from tsqa.stages.seeds import read_seed_table

    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)  # type: ignore[arg-type]
    return _apply_questions(loaded.spec, read_seed_table(loaded, project))  # type: ignore[union-attr,arg-type]


def test_poison_rows_apply_unfetched(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 16)
    _poison_workspace(ws, batch=16)
    assert "seed rows are eval rows" in _apply_seed_read(ws)


def test_poison_rows_plan_unfetched(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 16)
    _poison_workspace(ws, batch=16)
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)


def test_poison_rows_first_plan_refuses_the_eval_rows(ws: Workspace) -> None:
    """Poison rows opening the file: plan renders every row and refuses the eval rows behind them."""
    _poison_workspace(ws)
    result = ws.plan()
    assert result.exit_code == 1 and "seed rows are eval rows" in result.output, result.output


def test_poison_rows_fetched_then_normalised(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """fetch refuses the seed (nothing stored), so apply's seed read checks the file and refuses too:
    no assembled eval question reaches normalise."""
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 16)
    _poison_workspace(ws, batch=16)
    ws.assert_refused(ws.fetch(), rows_read=True)
    with pytest.raises(StageError, match="seed rows are eval rows"):
        _stored_questions(ws)


def _paws_row(i: int, question: str, sentence1: str | None = None) -> Row:
    """paws_en's own columns: the question in sentence1 with every `e` stored as `Q` (no word of
    the stored text is the eval question's); the template puts the `e`s back."""
    return {
        "id": i,
        "sentence1": question.replace("e", "Q") if sentence1 is None else sentence1,
        "sentence2": "Fine.",
        "label": 1,
    }


PAWS_SPEC = (
    "task: attack\nformat: short_answer\nseed: {lm_eval: paws_en, license: mit}\n"
    "fields: {question: \"{{ sentence1 | replace('Q', 'e') }}\", answer: \"{{ label }}\"}\n"
)


def _paws_workspace(ws: Workspace, monkeypatch: pytest.MonkeyPatch, dropped: bool) -> None:
    rows = [_paws_row(0, _honest(0))] + ([_paws_row(1, _honest(1), sentence1="")] if dropped else [])
    rows += [_paws_row(2 + i, str(r["question"])) for i, r in enumerate(EVAL)]
    ws.build(Attack(PAWS_SPEC))
    dd = ws.root / "dd" / "google-research-datasets" / "paws-x" / "en"
    dd.mkdir(parents=True)
    (dd / "train.jsonl").write_text(jsonl(rows))
    with_eval_store(ws)
    monkeypatch.setenv("TSQA_SEED_DATA_DIR", str(ws.root / "dd"))


def test_paws_without_a_dropped_row_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: every row kept by process_docs, the assembled eval questions are refused."""
    _paws_workspace(ws, monkeypatch, dropped=False)
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert "seed rows are eval rows" in result.output, result.output
    assert "seed rows are eval rows" in _apply_seed_read(ws)


def test_process_docs_drop_end_to_end_fetch(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _paws_workspace(ws, monkeypatch, dropped=True)
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert "seed rows are eval rows" in result.output, result.output


def test_process_docs_drop_end_to_end_apply(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _paws_workspace(ws, monkeypatch, dropped=True)
    assert "seed rows are eval rows" in _apply_seed_read(ws)


# -- 1b. the same stop, with an innocent template: 3 rows whose (unused) column is over 1 MB -------
# check_input bounds what a render is given (1,000,000 characters, the whole row): three such rows
# opening a batch fail on the bound, and normalise leaves the rest of the batch unrendered.
BIG = "lorem ipsum dolor sit amet " * 40_000  # ~1.08 M characters


def _big_rows(count: int, eval_at: dict[int, str], big: set[int]) -> list[Row]:
    return [
        {"notes": BIG if i in big else "", **_thirds(eval_at.get(i) or _honest(i)), "answer": "blue"}
        for i in range(count)
    ]


def test_three_oversized_rows_hide_a_plain_templates_eval_question() -> None:
    spec = _spec(question="{{ a }} {{ b }} {{ c }}")
    table = pa.Table.from_pylist(_big_rows(8, {5: QUESTIONS[0]}, big={0, 1, 2}))
    assert QUESTIONS[0] in _apply_questions(spec, table)
    assert _batched(spec, table) == [5]


def test_three_oversized_rows_end_to_end_fetch(ws: Workspace) -> None:
    rows = _big_rows(6, {}, big={0, 1, 2})
    rows += [{"notes": "", **_thirds(str(r["question"])), "answer": "blue"} for r in EVAL]
    spec = (
        "task: attack\nformat: short_answer\n"
        "seed: {files: ../data/train.jsonl, license: mit, columns: [notes, a, b, c, answer]}\n"
        'fields: {question: "{{ a }} {{ b }} {{ c }}", answer: "{{ answer }}"}\n'
    )
    ws.build(Attack(spec, {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    assert "seed rows are eval rows" in result.output, result.output


# -- 3. held: rows that fail to normalise for other reasons hide nothing -------------------------


def test_null_rows_hide_no_later_eval_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows whose question column is null fail one by one (no stop, unlike a render bound), even
    four of them opening a batch: the next rows still render."""
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 6)
    rows = _rows(12, {4: QUESTIONS[0], 10: QUESTIONS[1]})
    for i in (0, 1, 2, 3, 6, 7, 8, 9):
        rows[i]["a"] = None
    assert _batched(_spec(question="{{ a }} {{ b }} {{ c }}"), pa.Table.from_pylist(rows)) == [4, 10]


@pytest.mark.parametrize(
    "field", ["context", "answer"], ids=["eval question built in the context", "eval question built in the answer"]
)
def test_eval_question_built_in_another_field(field: str) -> None:
    spec = _spec(question="How many apples are left in the barn?", **{field: "{{ a }} {{ b }} {{ c }}"})
    table = pa.Table.from_pylist(_rows(6, {3: QUESTIONS[1]}))
    assert _batched(spec, table) == [3]


def test_honest_rows_assembled_by_templates_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """No false positive: 300 honest assembled rows, batches of 7, a shared instruction context."""
    monkeypatch.setattr(content, "CHECK_BATCH_ROWS", 7)
    spec = _spec(
        question="{{ a }} {{ b }} {{ c }}", context="Answer the question about the farm in one short sentence."
    )
    assert _batched(spec, pa.Table.from_pylist(_rows(300, {}))) == []


def test_bad_template_in_fetch_is_a_clear_error(ws: Workspace) -> None:
    spec = files_spec(extra='fields: {question: "{{ a ", answer: "{{ answer }}"}\n')
    ws.build(Attack(spec, {"data/train.jsonl": jsonl(_rows(3, {}))}))
    with_eval_store(ws)
    for result in (ws.fetch(), ws.plan()):
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in _apply_seed_read(ws)


def test_fields_changed_after_fetch_to_assemble_eval_questions(ws: Workspace) -> None:
    """Fetch's verdict holds for the templates it rendered (meta `rendered_by`): a spec whose fields
    change since is compared again (a hole before this session, found while fixing the above)."""
    rows = [{"q": str(r["question"]).replace("e", "Q"), "answer": "blue"} for r in EVAL]
    honest = (
        "task: attack\nformat: short_answer\n"
        "seed: {files: ../data/train.jsonl, license: mit, columns: [q, answer]}\n"
        'fields: {question: "{{ q }}", answer: "{{ answer }}"}\n'
    )
    ws.build(Attack(honest, {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    assert ws.fetch().exit_code == 0  # the stored text (every `e` a `Q`) is no eval text
    ws.spec.write_text(honest.replace("{{ q }}", "{{ q | replace('Q', 'e') }}"))
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "seed rows are eval rows" in _apply_seed_read(ws)


def test_a_second_spec_sharing_a_snapshot_is_compared_with_its_own_templates(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two specs of one lm-eval seed share one snapshot: the first (plain `{{ sentence1 }}`) writes it,
    the second's templates assemble the eval questions from the same rows and must be refused, in
    fetch and in apply's seed read."""
    rows = [_paws_row(0, _honest(0))] + [_paws_row(1 + i, str(r["question"])) for i, r in enumerate(EVAL)]
    ws.build(Attack(PAWS_SPEC.replace("{{ sentence1 | replace('Q', 'e') }}", "{{ sentence1 }}")))
    dd = ws.root / "dd" / "google-research-datasets" / "paws-x" / "en"
    dd.mkdir(parents=True)
    (dd / "train.jsonl").write_text(jsonl(rows))
    with_eval_store(ws)
    monkeypatch.setenv("TSQA_SEED_DATA_DIR", str(ws.root / "dd"))
    (ws.spec.parent / "zz_second.yaml").write_text(PAWS_SPEC.replace("task: attack", "task: attack_second"))
    specs = str(ws.spec.parent)
    result = ws.run("seeds", "fetch", specs, "--project", str(ws.root / "tsqa.yaml"), "--data-dir", str(ws.root / "dd"))
    out = result.output
    assert "fetched  attack:" in out and "attack_second" in out, out
    assert "seed rows are eval rows" in out.split("attack_second", 1)[1], out
    assert "Traceback" not in out
