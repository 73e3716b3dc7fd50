"""Attack on 85b669f/b4c7ed5: normalise's column path (seeds/normalise_columns), streaming stages fed
upstream shards joined into batches (store/shards.coalesced), the report's hashed first rows and the
content check's faster normal_text / canonical / folded.

What broke (failing tests below):
- a seed table with a `string_view` column that no field reads (a `note`, an `id`; pyarrow and
  Parquet keep the type) makes normalise die with a raw ArrowNotImplementedError as soon as one row of
  a shard is certain and one is not (`shard.take` has no string_view kernel); the old per-document
  stream read every row with `to_pylist` and normalised the split. Through `apply` on a Parquet seed
  file the whole run dies with that traceback;
- a choices column holding a null list backed by values (a ListArray built with a validity mask, as
  Arrow allows) makes `certain_rows` die with numpy's "The weights and list don't have the same length"
  (`list_flatten` skips a null list's values, `list_parent_indices` does not);
- verify puts a batch's engine errors before its vote rejects: with upstream shards joined into one
  batch, verify's rejects come out in another order than before (a later shard's engine_error ahead of
  an earlier shard's low_agreement), and so does the report's table of rejections when two reasons
  tie on count (the unit test of verify_columns shows the cause; it fails on the old code too, where
  it did not matter because each shard was its own batch);
- (not new, report only) `_first_rows` stands a null-key row in for `"\\x00<row>"`, which a real
  question id can spell: two questions counted as one.

What held (passing tests below): the stream and the per-document path agree on random tables of many
column types (string/large_string/dictionary questions, list/large_list/fixed_size_list/list<dict>/
list<int> choices, every integer width, bool/float/text/dictionary/null answers, text/int/null/struct
contexts, chunked and sliced columns, duplicate column names, extra columns, all three formats, spec
`fields:` naming columns); every stage's kept rows and the packaged dataset's bytes are the same with
and without joined batches; `_first_rows` equals a first-occurrence scan; normal_text, canonical and
folded are byte-identical to the old implementations on tricky and random strings, and normal_text's
cache gives the same answer for equal strings of any str subclass.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apply"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seeds"))
from normalise_paths import both_paths as _both
from normalise_paths import normalise_task as _task
from normalise_paths import same_result as _same
from scripted_project import SPEC, apply_scripted, script, write_project, write_small_shards_project

from tsqa.stages.base import TaskContext

_TASKS: dict[tuple[str, str], TaskContext] = {}


def _cached_task(factory: pytest.TempPathFactory, fmt: str, named: bool) -> TaskContext:
    key = (fmt, "named" if named else "")
    if key not in _TASKS:
        fields, row = "", None
        if named:
            fields = (
                "fields: {question: qq, choices: cc, answer: aa, context: xx}\n"
                if fmt == "multiple_choice"
                else "fields: {question: qq, answer: aa, context: xx}\n"
            )
            row = '{"qq": "q?", "cc": ["ab", "cd"], "aa": 0, "xx": "c"}'
        _TASKS[key] = _task(factory.mktemp("t"), fmt, fields, row)
    return _TASKS[key]


# -- broken: a string_view column no field reads -------------------------------------------------


def test_an_unread_string_view_column_does_not_crash_the_stream(tmp_path: Path) -> None:
    """Row 0 is certain (column path), row 1 is not (answer out of range): the rest are taken with
    `shard.take`, which has no string_view kernel. The per-document path normalises the table."""
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "Which metal?"],
            "choices": [["oxygen", "argon"], ["iron", "tin"]],
            "answer": [1, 7],
            "note": pa.array(["from a polars export", "x"], pa.string_view()),
        }
    )
    _same(*_both(task, table, []))


def test_an_unread_string_view_column_when_every_row_is_certain(tmp_path: Path) -> None:
    task = _task(tmp_path, "multiple_choice")
    table = pa.table(
        {
            "question": ["Which gas?", "Which metal?"],
            "choices": [["oxygen", "argon"], ["iron", "tin"]],
            "answer": [1, 0],
            "tags": pa.array([["a"], ["b"]], pa.list_(pa.string_view())),
        }
    )
    _same(*_both(task, table, []))


def test_apply_on_a_parquet_seed_with_a_string_view_column(tmp_path: Path) -> None:
    """End to end: a Parquet seed file keeps the string_view type; one seed's answer is out of
    range. The old code rejected that seed and packaged the rest; now apply dies with a traceback."""
    root = tmp_path / "p"
    write_project(root)
    rows = [json.loads(line) for line in (root / "specs" / "seeds.jsonl").read_text().splitlines()]
    rows[1]["answer"] = 7
    pq.write_table(
        pa.table(
            {
                "question": [r["question"] for r in rows],
                "choices": [r["choices"] for r in rows],
                "answer": [r["answer"] for r in rows],
                "note": pa.array(["n"] * len(rows), pa.string_view()),
            }
        ),
        root / "specs" / "seeds.parquet",
    )
    (root / "specs" / "seeds.jsonl").unlink()
    (root / "specs" / "colours.yaml").write_text(SPEC.replace("seeds.jsonl", "seeds.parquet"))
    result, _ = apply_scripted(root)
    assert result.manifests["colours"]["normalise"].rejections == {"unnormalisable": 1}
    assert result.manifests["colours"]["normalise"].rows_out == 5


# -- broken: a null list entry backed by values ---------------------------------------------------


def test_a_null_choices_list_backed_by_values(tmp_path: Path) -> None:
    """Arrow lets a null list entry span values (ListArray.from_arrays with a mask). The per-document
    path reads it as None ("field 'choices' is null"); certain_rows counts the row's values with
    list_parent_indices but not with list_flatten, and numpy's bincount raises ValueError."""
    task = _task(tmp_path, "multiple_choice")
    choices = pa.ListArray.from_arrays(
        pa.array([0, 2, 4, 6], pa.int32()),
        pa.array(["ab", "cd", "x", "y", "ef", "gh"]),
        mask=pa.array([False, True, False]),
    )
    table = pa.table({"question": ["Which?", "Which one?", "Which two?"], "choices": choices, "answer": [0, 1, 1]})
    assert table.column("choices").to_pylist()[1] is None
    _same(*_both(task, table, []))


# -- broken: verify's rejects reordered by the joined batches ------------------------------------


def _failing_solver(request: Any) -> Any:
    if "/solve/" in request.id and ":5." in request.id:
        raise RuntimeError("solver down")
    return script(request)


def _run(root: Path, monkeypatch: pytest.MonkeyPatch, *, joined: bool) -> dict[str, Any]:
    """One apply of the scripted project in 1-row shards (the solver fails seed 5's questions,
    failures accepted): every stage's data and rejects in order, the dataset's bytes, the report."""
    from tsqa.apply import executor
    from tsqa.engines.scripted import ScriptedEngine

    with monkeypatch.context() as m:
        if not joined:  # before b4c7ed5: each upstream shard on its own
            m.setattr(executor, "coalesced", lambda tables: iter(tables), raising=False)
        write_small_shards_project(root)
        apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
    out: dict[str, Any] = {}
    for stage_dir in sorted((root / "run" / "tasks" / "colours").iterdir()):
        for fp in stage_dir.iterdir():
            for part in ("data", "rejects"):
                files = sorted((fp / part).glob("*.parquet"))
                out[f"{stage_dir.name}/{part}"] = [r for f in files for r in pq.read_table(f).to_pylist()]
    dataset = sorted((root / "run" / "datasets" / "colours").glob("*.parquet"))
    out["dataset"] = [hashlib.sha256(f.read_bytes()).hexdigest() for f in dataset]
    out["report"] = [
        line for line in (root / "run" / "report.md").read_text().splitlines() if line.startswith("| colours |")
    ]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same project applied before (shards one by one) and now (joined), at the same path (the
    seed rows carry their file's path)."""
    import shutil

    mp = pytest.MonkeyPatch()
    try:
        root = tmp_path_factory.mktemp("joined") / "p"
        before = _run(root, mp, joined=False)
        shutil.rmtree(root)
        now = _run(root, mp, joined=True)
    finally:
        mp.undo()
    return before, now


def test_joined_batches_keep_every_stage_s_rows_and_the_dataset(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, now = runs
    assert before["dataset"] and before["dataset"] == now["dataset"]
    for key in before:
        if key.endswith("/data"):
            assert before[key] == now[key], key
    assert before["verify/rejects"], "the scripted run has verify rejects"


def test_joined_batches_keep_the_order_of_verify_s_rejects(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Before: seed 4's low_agreement rejects (an earlier solve shard), then seed 5's engine errors.
    Now: one batch, and verify_columns lists a batch's engine errors first."""
    before, now = runs
    for key in before:
        if key.endswith("/rejects"):
            assert [(r["id"], r["reason"]) for r in now[key]] == [(r["id"], r["reason"]) for r in before[key]], key


def test_joined_batches_keep_the_report_s_rejection_table(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Reasons tied on count are listed in first-seen order: the reordered rejects swap them."""
    before, now = runs
    assert now["report"] == before["report"]


def test_verify_over_two_shards_or_their_join_rejects_in_one_order() -> None:
    from tsqa.spec.models import VoteVerify
    from tsqa.stages.schema import SCHEMAS
    from tsqa.stages.verify import verify_columns

    def row(qid: str, samples: list[str], error: str | None = None) -> dict[str, Any]:
        return {
            "question_id": qid,
            "seed_id": "t:0",
            "question": "Which colour?",
            "options": ["red", "blue", "green"],
            "answer_index": 0,
            "answer_text": "red",
            "context": None,
            "samples": samples,
            "error": error,
        }

    first = pa.Table.from_pylist(
        [row("q1", ["The final answer is: B"] * 3), row("q2", ["The final answer is: A"] * 3)], schema=SCHEMAS["solve"]
    )
    second = pa.Table.from_pylist(
        [row("q3", [], "boom"), row("q4", ["The final answer is: A"] * 3)], schema=SCHEMAS["solve"]
    )
    rule = VoteVerify(kind="vote", model="solver", samples=3, min_agreement=0.6)
    apart = pa.concat_tables([verify_columns(t, "multiple_choice", rule).rejects for t in (first, second)])
    joined = verify_columns(pa.concat_tables([first, second]), "multiple_choice", rule).rejects
    assert joined.to_pylist() == apart.to_pylist()


# -- held: the stream equals the per-document path on random tables of many types ----------------

_Q = [None, "", " ", "\u00a0", "Which?", "x", "A", "é", "Who 1", "?", "  q  ", "\u2003x", "12", "Ｑ", "a\nb"]
_C = [
    None,
    "",
    " ",
    "A",
    "(b).",
    "\u00a0A",
    "ab",
    "a1",
    "12",
    "yes",
    "no",
    "x y",
    "é",
    "Ａｂ",
    "a\nb",
    " C ",
    "a\u00a0b",
]
_INTS = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]


def _random_table(rnd: random.Random, fmt: str, names: tuple[str, str, str, str]) -> pa.Table:
    n = rnd.randint(1, 9) + 2
    qs = [rnd.choice(_Q) for _ in range(n)]
    chs = [None if rnd.random() < 0.1 else [rnd.choice(_C) for _ in range(rnd.randint(0, 4))] for _ in range(n)]
    ans = [None if rnd.random() < 0.1 else rnd.randint(-2, 5) for _ in range(n)]
    ctx = [rnd.choice([None, "ctx", "", " "]) for _ in range(n)]

    def chunked(arr: pa.Array) -> pa.Array | pa.ChunkedArray:
        if len(arr) > 2 and rnd.random() < 0.5:
            c = rnd.randint(1, len(arr) - 1)
            return pa.chunked_array([arr.slice(0, c), arr.slice(c)], arr.type)
        return arr

    def text(vals: list[Any]) -> pa.Array:
        kind = rnd.choice(["s", "s", "s", "l", "d"])
        if kind == "d":
            return pa.array(vals, pa.string()).dictionary_encode()
        return pa.array(vals, pa.large_string() if kind == "l" else pa.string())

    def lists(vals: list[Any]) -> pa.Array:
        kind = rnd.choice(["list", "list", "large", "fixed", "dict", "int"])
        if kind == "large":
            return pa.array(vals, pa.large_list(pa.large_string()))
        if kind == "dict":
            return pa.array(vals, pa.list_(pa.dictionary(pa.int32(), pa.string())))
        if kind == "int":
            return pa.array(
                [None if v is None else [None if c is None else len(c) for c in v] for v in vals], pa.list_(pa.int64())
            )
        if kind == "fixed":
            return pa.array([None if v is None else (v + ["pad"] * 3)[:3] for v in vals], pa.list_(pa.string(), 3))
        return pa.array(vals, pa.list_(pa.string()))

    def answers(vals: list[Any]) -> pa.Array:
        kind = rnd.choice(["int"] * 5 + ["bool", "float", "str", "null", "dict"])
        if kind == "int":
            t = rnd.choice(_INTS)
            if pa.types.is_unsigned_integer(t):
                vals = [None if v is None else abs(v) for v in vals]
            return pa.array(vals, t)
        if kind == "bool":
            return pa.array([None if v is None else bool(v % 2) for v in vals])
        if kind == "float":
            return pa.array([None if v is None else (float(v) if rnd.random() < 0.9 else float("nan")) for v in vals])
        if kind == "str":
            return pa.array([None if v is None else rnd.choice([str(v), "ab", "yes", " 1 ", ""]) for v in vals])
        if kind == "dict":
            return pa.array([None if v is None else str(v) for v in vals]).dictionary_encode()
        return pa.nulls(len(vals))

    def contexts(vals: list[Any]) -> pa.Array | None:
        kind = rnd.choice(["s", "l", "null", "int", "none", "struct"])
        if kind == "none":
            return None
        if kind == "null":
            return pa.nulls(len(vals))
        if kind == "int":
            return pa.array([None if v is None else len(v) for v in vals])
        if kind == "struct":
            return pa.array([None if v is None else {"t": v} for v in vals])
        return pa.array(vals, pa.large_string() if kind == "l" else pa.string())

    cols: dict[str, Any] = {names[0]: chunked(text(qs))}
    if fmt == "multiple_choice" or rnd.random() < 0.3:
        cols[names[1]] = chunked(lists(chs))
    if fmt != "free_form" or rnd.random() < 0.5:
        cols[names[2]] = chunked(answers(ans))
    cx = contexts(ctx)
    if cx is not None:
        cols[names[3]] = chunked(cx)
    if rnd.random() < 0.3:
        cols["extra"] = pa.array([{"label": ["A", "B"], "text": ["xa", "xb"]}] * n)
    items = list(cols.items())
    rnd.shuffle(items)
    table = pa.table(dict(items))
    if rnd.random() < 0.2:  # a repeated column name
        table = pa.Table.from_arrays(
            [*table.columns, table.column(0)], names=[*table.column_names, table.column_names[0]]
        )
    return table.slice(rnd.randint(0, 1), n - 2)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    fmt=st.sampled_from(["multiple_choice", "short_answer", "free_form"]),
    named=st.booleans(),
)
def test_random_tables_of_many_types_get_the_per_document_records(
    tmp_path_factory: pytest.TempPathFactory, seed: int, fmt: str, named: bool
) -> None:
    rnd = random.Random(seed)
    names = ("qq", "cc", "aa", "xx") if named else ("question", "choices", "answer", "context")
    table = _random_table(rnd, fmt, names)
    cuts = [rnd.randint(0, table.num_rows) for _ in range(rnd.randint(0, 3))]
    _same(*_both(_cached_task(tmp_path_factory, fmt, named), table, cuts))


# -- held: the report's first rows ----------------------------------------------------------------


def _first_rows_reference(tables: list[pa.Table]) -> list[int]:
    seen: set[Any] = set()
    out, offset = [], 0
    for table in tables:
        for i, (q, d) in enumerate(zip(table["question_id"].to_pylist(), table["id"].to_pylist(), strict=True)):
            key = q if q is not None else d
            key = ("own", offset + i) if key is None else ("key", str(key))
            if key not in seen:
                seen.add(key)
                out.append(offset + i)
        offset += table.num_rows
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shards=st.lists(
        st.lists(
            st.tuples(
                st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "0", " 1"])),
                st.one_of(st.none(), st.sampled_from(["a", "x", "y", "1"])),
            ),
            max_size=6,
        ),
        max_size=4,
    ),
    int_ids=st.booleans(),
)
def test_first_rows_are_a_first_occurrence_scan(
    tmp_path_factory: pytest.TempPathFactory, shards: list[list[tuple[Any, Any]]], int_ids: bool
) -> None:
    from tsqa.report.build import _first_rows

    folder = tmp_path_factory.mktemp("first")
    tables, files = [], []
    for n, rows in enumerate(shards):
        ids = [r[1] for r in rows]
        table = pa.table(
            {
                "question_id": pa.array([r[0] for r in rows], pa.string()),
                "id": pa.array(
                    [None if v is None else (ord(v[0]) if int_ids else v) for v in ids],
                    pa.int64() if int_ids else pa.string(),
                ),
            }
        )
        tables.append(table)
        files.append(folder / f"part-{n:05d}.parquet")
        pq.write_table(table, files[-1])
    assert _first_rows(files).tolist() == _first_rows_reference(tables)


def test_a_question_id_that_spells_a_null_row_s_own_key() -> None:
    """A row without any id is a question of its own: its stand-in key `"\\x00<row>"` can equal a
    real id (not new: the old group_by used the same stand-in). Two questions, counted as one."""
    import tempfile

    from tsqa.report.build import _first_rows

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "part-00000.parquet"
        pq.write_table(
            pa.table(
                {"question_id": pa.array([None, "\x000"], pa.string()), "id": pa.array([None, None], pa.string())}
            ),
            path,
        )
        assert _first_rows([path]).tolist() == [0, 1]


# -- held: the content check's text functions -----------------------------------------------------


def _old_canonical(text: str) -> str:
    from tsqa.seeds import content as c
    from tsqa.seeds.names import fold

    for _ in range(3):
        before = text
        if "&" in text and c._ENTITY.search(text):
            text = html.unescape(text)
        if "%" in text and c._PERCENT.search(text):
            text = unquote(text)
        if "\\" in text and c._ESCAPE.search(text):
            text = c._ESCAPE.sub(c._unescape, text)
        if text == before:
            break
    return fold(c._IGNORABLE.sub("", c._BLANK.sub(" ", text)))


def _old_normal_text(text: str) -> str:
    from tsqa.seeds import content as c

    words = c._NON_WORD.sub(" ", _old_canonical(text).casefold()).split()
    return " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1] or len(w) == 1)


def _old_folded(norm: str) -> str:
    from tsqa.seeds import content as c

    leet = " ".join(w.translate(c._LEET) if not w.isdigit() else w for w in norm.split())
    return "".join(c._stem(w) for w in leet.split())


TRICKY = [
    "",
    " ",
    "the the",
    "The the THE",
    "a a a",
    "is is 2+2",
    "  What&nbsp;is  is 2+2?\n",
    "ab\x1cab",
    "ab\x1fab\x1eab",
    "ab\u2028ab",
    "ab\x85ab",
    "ab_ab",
    "ab__ab",
    "Straße STRASSE strasse",
    "İstanbul i̇stanbul",
    "ﬁre fire",
    "ﬀ ff",
    "٣٣ ٣٣ 33 33",
    "x\u0301x x\u0301x",
    "\u3164the\u3164the",
    "the\u034fthe the",
    "%E2%80%8B the %20the",
    "\\u0020the\\x20the",
    "\\ud800the the",
    "&amp;nbsp;the&nbsp;the",
    "%2520the%20the",
    "ǅ ǆ Ǆ",
    "ｔｈｅ the",
    "ⅫⅫ Ⅻ",
    "\udc80 \udc80",
    "pl4n3t pl4n3ts 1234 planet",
    "t\u0435st test",
    "ab ab_ab ab",
    "abab ab",
    "ab abab",
    "b ab ab",
    "ǈǈ ǉǉ",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_functions_equal_the_old_ones_on_tricky_strings(text: str) -> None:
    from tsqa.seeds.content import canonical, folded, normal_text

    for _ in range(2):  # the second call may come from the cache
        assert canonical(text) == _old_canonical(text)
        assert normal_text(text) == _old_normal_text(text)
        assert folded(normal_text(text)) == _old_folded(_old_normal_text(text))
        assert folded(text) == _old_folded(text)


_ALPHABET = [
    *"aAbB ßİıﬁ\u00a0\u2028\u3164\u034f\x1c\x1d\x1e\x1f\x85_-.,&;%#\\ux0123456789٣é\u0301Σσς",
    "&nbsp;",
    "%20",
    "\\u0020",
    "&amp;",
    "the",
    "the ",
    "ab",
    "AB",
    "\udc80",
    "%ed%a0%80",
    "\\ud800",
    "ｔｈｅ",
    "\U0001d400",
]


@settings(max_examples=2000, deadline=None)
@given(parts=st.lists(st.sampled_from(_ALPHABET), max_size=14))
def test_text_functions_equal_the_old_ones_on_random_strings(parts: list[str]) -> None:
    from tsqa.seeds.content import canonical, folded, normal_text

    text = "".join(parts)
    assert canonical(text) == _old_canonical(text)
    assert normal_text(text) == _old_normal_text(text)
    assert normal_text(text) == _old_normal_text(text)
    assert folded(text) == _old_folded(text)


def test_normal_text_cache_is_keyed_by_the_text_not_its_type() -> None:
    from tsqa.seeds.content import normal_text

    class Shouty(str):
        pass

    plain = "The the Cat"
    assert normal_text(plain) == "the cat"
    assert normal_text(Shouty(plain)) == "the cat"
    assert normal_text(np.str_(plain)) == "the cat"
    with pytest.raises(TypeError):
        normal_text(None)  # type: ignore[arg-type]
