"""Attack on 4db580c (and b4c7ed5/85b669f): normalise's column path with view / run-end / extension /
map columns and odd shard sequences; verify's rejects in row order; coalesced batches under
kill/resume; the report's hashed first rows.

What broke (failing test below), not new in 4db580c: a shard whose columns are chunked differently and
one of which has an empty chunk makes `to_struct_array` hand the Rust core a zero-row slice of a string
column past its start, which the core refuses on import ("First offset N of Utf8 is larger than values
length 0"): `process_stream` dies with ColumnTypeError where `process` normalises every row. Shards
that come from Parquet (what the executor feeds, coalesced or not) have chunks starting at offset 0
and do not hit it.

What held (passing tests): the stream equals `process` with unread binary_view, string_view,
list_view, large_list_view, run-end encoded, map (plain and of views), dictionary, dense union,
struct-with-view, list-of-views, json and uuid extension columns; with question/choices/answer read
from dictionary, large_string, string_view, json, run-end, list_view and large_list_view columns;
`Question`/`ANSWER` columns next to `question`/`answer`; list<large_string> choices with nulls in
sliced chunks and a null list backed by values; empty and zero-column shards in between; 0-row
tables; random shapes. verify_columns on a joined batch gives exactly the rejects and kept rows of
its rows one by one (engine errors, empty error strings, low agreement, mismatch, no answer; both
formats, require_match on/off). An exception in a later batch of normalise, verify, dedup,
decontaminate or package, then a rerun, gives the rejects and dataset of an uninterrupted run, for
BATCH_ROWS 1, 2 and 10^6, and those agree across batch sizes. `_first_rows` equals a
first-occurrence scan for string, large_string, dictionary, int64 and null-typed ids, missing id
columns, empty shards and multi-row-group files.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apply"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seeds"))
from normalise_paths import normalise_task as _task
from scripted_project import apply_scripted, packaged_texts, script, write_small_shards_project

from tsqa.stages.base import TaskContext
from tsqa.stages.normalise import NormaliseStage

_TASKS: dict[str, TaskContext] = {}


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TaskContext]:
    if not _TASKS:
        for fmt in ("multiple_choice", "short_answer", "free_form"):
            _TASKS[fmt] = _task(tmp_path_factory.mktemp(fmt), fmt)
    return _TASKS


def _stream(task: TaskContext, shards: list[pa.Table]) -> Any:
    return list(NormaliseStage().process_stream(iter(shards), task))


def _same_as_whole(task: TaskContext, whole_table: pa.Table, shards: list[pa.Table]) -> None:
    whole = NormaliseStage().process(whole_table, task)
    parts = _stream(task, shards)
    kept = pa.concat_tables([p.kept for p in parts]) if parts else whole.kept.slice(0, 0)
    rejects = pa.concat_tables([p.rejects for p in parts]) if parts else whole.rejects.slice(0, 0)
    assert kept.to_pylist() == whole.kept.to_pylist()
    assert kept.schema.equals(whole.kept.schema)
    assert rejects.to_pylist() == whole.rejects.to_pylist()


def _cut(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    bounds = [0, *sorted(c for c in cuts if 0 <= c <= table.num_rows), table.num_rows]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


_QS = ["Which gas?", "Which metal?", "", "A", None, "Which one?", "?"]
_CH = [["oxygen", "argon"], ["iron", "tin"], ["A", "B"], None, ["ab", None], [], ["x y", "z"]]
_AN = [1, 0, 7, None, 0, 0, 1]


def _base(n: int = 7) -> dict[str, Any]:
    return {"question": _QS[:n], "choices": _CH[:n], "answer": _AN[:n]}


def _extra_columns(n: int) -> dict[str, pa.Array]:
    """Columns no field reads, of types Arrow's take or the Rust raw writer treat specially."""
    rng = range(n)
    out: dict[str, pa.Array] = {
        "binary_view": pa.array([b"b%d" % i for i in rng], pa.binary_view()),
        "string_view": pa.array([f"s{i}" for i in rng], pa.string_view()),
        "list_view": pa.array([[f"l{i}"] for i in rng], pa.list_view(pa.string())),
        "large_list_view": pa.array([[i] for i in rng], pa.large_list_view(pa.int64())),
        "ree": pc.run_end_encode(pa.array(["r"] * n)),
        "struct_with_view": pa.array([{"v": f"v{i}"} for i in rng], pa.struct([("v", pa.string_view())])),
        "map": pa.array([[("k", f"m{i}")] for i in rng], pa.map_(pa.string(), pa.string())),
        "map_of_views": pa.array([[("k", f"m{i}")] for i in rng], pa.map_(pa.string(), pa.string_view())),
        "dict_string": pa.array([f"d{i % 2}" for i in rng]).dictionary_encode(),
        "dense_union": pa.UnionArray.from_dense(
            pa.array([0] * n, pa.int8()), pa.array(list(rng), pa.int32()), [pa.array([f"u{i}" for i in rng])]
        ),
        "list_of_views": pa.array([[f"w{i}"] for i in rng], pa.list_(pa.string_view())),
        "struct_plain": pa.array([{"a": i, "b": f"t{i}"} for i in rng]),
    }
    if hasattr(pa, "json_"):
        out["json_ext"] = pa.array([f'{{"j": {i}}}' for i in rng], pa.json_())
    if hasattr(pa, "uuid"):
        out["uuid_ext"] = pa.array([bytes([i]) * 16 for i in rng], pa.uuid())
    return out


@pytest.mark.parametrize("extra", sorted(_extra_columns(1)))
@pytest.mark.parametrize("cuts", [[], [3], [0, 0, 2, 2, 5, 7, 7]])
def test_an_unread_column_of_an_unusual_type(tasks: dict[str, TaskContext], extra: str, cuts: list[int]) -> None:
    table = pa.table({**_base(), extra: _extra_columns(7)[extra]})
    _same_as_whole(tasks["multiple_choice"], table, _cut(table, cuts))


@pytest.mark.parametrize(
    "kind",
    ["dict_question", "large_question", "view_question", "json_question", "ree_question", "view_choices",
     "list_view_choices", "large_list_view_choices", "large_list_large_string", "dict_answer", "ree_answer"],
)  # fmt: skip
def test_read_columns_of_unusual_types(tasks: dict[str, TaskContext], kind: str) -> None:
    cols: dict[str, Any] = _base()
    q, c, a = cols["question"], cols["choices"], cols["answer"]
    if kind == "dict_question":
        cols["question"] = pa.array(q, pa.string()).dictionary_encode()
    elif kind == "large_question":
        cols["question"] = pa.array(q, pa.large_string())
    elif kind == "view_question":
        cols["question"] = pa.array(q, pa.string_view())
    elif kind == "json_question":
        if not hasattr(pa, "json_"):
            pytest.skip("no json extension type")
        cols["question"] = pa.array([None if v is None else f'"{v}"' for v in q], pa.json_())
    elif kind == "ree_question":
        cols["question"] = pc.run_end_encode(pa.array(q, pa.string()))
    elif kind == "view_choices":
        cols["choices"] = pa.array(c, pa.list_(pa.string_view()))
    elif kind == "list_view_choices":
        cols["choices"] = pa.array(c, pa.list_view(pa.string()))
    elif kind == "large_list_view_choices":
        cols["choices"] = pa.array(c, pa.large_list_view(pa.large_string()))
    elif kind == "large_list_large_string":
        cols["choices"] = pa.array(c, pa.large_list(pa.large_string()))
    elif kind == "dict_answer":
        cols["answer"] = pa.array(a, pa.int64()).dictionary_encode()
    elif kind == "ree_answer":
        cols["answer"] = pc.run_end_encode(pa.array(a, pa.int64()))
    table = pa.table(cols)
    for cuts in ([], [2, 5], [0, 1, 1, 4, 7]):
        _same_as_whole(tasks["multiple_choice"], table, _cut(table, cuts))


def test_a_column_that_differs_from_question_only_in_case(tasks: dict[str, TaskContext]) -> None:
    table = pa.table(
        {
            "Question": ["Upper 1", "Upper 2", "Upper 3"],
            "question": ["Which gas?", "", "Which metal?"],
            "choices": [["oxygen", "argon"], ["iron", "tin"], ["ab", "cd"]],
            "answer": [1, 0, 5],
            "ANSWER": [0, 0, 0],
        }
    )
    for cuts in ([], [1], [1, 2]):
        _same_as_whole(tasks["multiple_choice"], table, _cut(table, cuts))


def _chunked_choices() -> pa.ChunkedArray:
    """list<large_string> with nulls inside, chunks sliced out of bigger arrays, a null list backed
    by values."""
    big = pa.array(
        [["junk"], ["oxygen", None], ["iron", "tin"], None, ["x y", "A"], ["", "ab"], ["junk2"]],
        pa.list_(pa.large_string()),
    )
    backed = pa.ListArray.from_arrays(
        pa.array([0, 2, 4, 6], pa.int32()),
        pa.array(["ab", "cd", "ef", "gh", "ij", None], pa.large_string()),
        mask=pa.array([False, True, False]),
    )
    return pa.chunked_array(
        [big.slice(1, 5), backed.slice(1, 2), pa.array([], pa.list_(pa.large_string())), big.slice(2, 1)]
    )


def test_list_of_large_string_choices_with_nulls_in_sliced_chunks(tasks: dict[str, TaskContext]) -> None:
    choices = _chunked_choices()
    n = len(choices)

    def same_chunks(arr: pa.Array) -> pa.ChunkedArray:  # the choices' chunk layout (see the finding below)
        out, at = [], 0
        for c in choices.chunks:
            out.append(pa.array(arr.slice(at, len(c)).to_pylist(), arr.type))
            at += len(c)
        return pa.chunked_array(out, arr.type)

    table = pa.table(
        {
            "question": same_chunks(pa.array([f"Which {i}?" for i in range(n)], pa.large_string())),
            "choices": choices,
            "answer": same_chunks(pa.array([0, 1, 1, 0, 1, 1, 0, 1][:n], pa.int16())),
        }
    )
    assert table.column("choices").to_pylist()[5] is None
    for cuts in ([], [1], [2, 4], [0, 3, 3, 6], list(range(n))):
        _same_as_whole(tasks["multiple_choice"], table, _cut(table, cuts))


def test_a_zero_length_sliced_chunk_does_not_crash_the_stream(tasks: dict[str, TaskContext]) -> None:
    """FINDING (not new: `_raw_texts` predates 4db580c). Columns chunked differently, one with an
    empty chunk: `to_struct_array` realigns them and the empty struct chunk holds the question column
    sliced to zero rows past its start; the Rust core refuses it on import ("First offset 32 of Utf8 is
    larger than values length 0") and the stream dies with ColumnTypeError, where `process`
    normalises every row."""
    question = pa.array(["Which gas?", "Which metal?", "Which one?", "Which two?"])
    choices = pa.array([["oxygen", "argon"], ["iron", "tin"], ["ab", "cd"], ["ef", "gh"]])
    table = pa.table(
        {
            "question": pa.chunked_array([question]),
            "choices": pa.chunked_array([choices.slice(0, 3), choices.slice(3, 0), choices.slice(3, 1)]),
            "answer": [0, 1, 0, 1],
        }
    )
    _same_as_whole(tasks["multiple_choice"], table, [table])


def test_empty_and_zero_column_shards_in_between(tasks: dict[str, TaskContext]) -> None:
    table = pa.table(_base())
    empty_no_columns = pa.table({})
    shards = [
        table.slice(0, 0),
        empty_no_columns,
        table.slice(0, 3),
        table.slice(3, 0),
        empty_no_columns,
        table.slice(3, 4),
        empty_no_columns,
    ]
    _same_as_whole(tasks["multiple_choice"], table, shards)


@pytest.mark.parametrize("fmt", ["multiple_choice", "short_answer", "free_form"])
def test_a_zero_row_table(tasks: dict[str, TaskContext], fmt: str) -> None:
    table = pa.table(_base()).slice(0, 0)
    _same_as_whole(tasks[fmt], table, [table])
    _same_as_whole(tasks[fmt], table, [])


@pytest.mark.parametrize("fmt", ["short_answer", "free_form"])
def test_short_answer_columns_with_views_around(tasks: dict[str, TaskContext], fmt: str) -> None:
    n = 6
    table = pa.table(
        {
            "question": pa.array(["What is 2+2?", "", None, "Capital?", "x", "é?"], pa.large_string()),
            "answer": pa.array(["4", "no", "x", None, "", "y"], pa.large_string()),
            "context": pa.array([None, "c", "d", "e", "f", None]),
            **{k: v for k, v in _extra_columns(n).items() if k in ("string_view", "ree", "struct_with_view")},
        }
    )
    for cuts in ([], [1, 3], [0, 6]):
        _same_as_whole(tasks[fmt], table, _cut(table, cuts))


def test_random_shapes_with_view_columns(tasks: dict[str, TaskContext]) -> None:
    rnd = random.Random(15)
    extras = _extra_columns(12)
    for _ in range(60):
        n = rnd.randint(1, 12)
        rows = [rnd.randrange(len(_QS)) for _ in range(n)]
        cols: dict[str, Any] = {
            "question": pa.array([_QS[r] for r in rows], rnd.choice([pa.string(), pa.large_string()])),
            "choices": pa.array(
                [_CH[r] for r in rows], rnd.choice([pa.list_(pa.string()), pa.large_list(pa.large_string())])
            ),
            "answer": pa.array([_AN[r] for r in rows], rnd.choice([pa.int8(), pa.int64(), pa.uint32()])),
        }
        for name in rnd.sample(sorted(extras), rnd.randint(0, 2)):
            cols[name] = extras[name].slice(0, n)
        items = list(cols.items())
        rnd.shuffle(items)
        table = pa.table(dict(items))
        cuts = [rnd.randint(0, n) for _ in range(rnd.randint(0, 3))]
        _same_as_whole(tasks["multiple_choice"], table, _cut(table, cuts))


# -- verify: rejects in row order, aligned ---------------------------------------------------------


def _solve_row(qid: str, fmt: str, kind: str, rnd: random.Random) -> dict[str, Any]:
    mc = fmt == "multiple_choice"
    gold = "B" if mc else "42"
    other = "C" if mc else "17"
    third = "A" if mc else "99"
    samples: list[str] | None
    error = None
    if kind == "engine_error":
        samples, error = rnd.choice([[], None, ["The final answer is: B"]]), f"boom {qid}"
    elif kind == "kept":
        samples = [f"The final answer is: {gold}"] * 3
    elif kind == "mismatch":
        samples = [f"The final answer is: {other}"] * 3
    elif kind == "low":
        samples = [f"The final answer is: {x}" for x in (gold, other, third)]
    elif kind == "none":
        samples = ["I do not know.", "no idea", "?"]
    else:  # empty error string: voted
        samples, error = [f"The final answer is: {gold}"] * 3, ""
    return {
        "question_id": qid,
        "seed_id": "t:0",
        "question": f"Question {qid}?",
        "options": ["red", "blue", "green"] if mc else None,
        "answer_index": 1 if mc else None,
        "answer_text": "blue" if mc else "42",
        "context": None,
        "samples": samples,
        "error": error,
    }


@pytest.mark.parametrize("fmt", ["multiple_choice", "short_answer"])
@pytest.mark.parametrize("require_match", [True, False])
def test_verify_batches_reject_like_their_rows_one_by_one(fmt: str, require_match: bool) -> None:
    from tsqa.spec.models import VoteVerify
    from tsqa.stages.schema import SCHEMAS
    from tsqa.stages.verify import verify_columns

    rule = VoteVerify(kind="vote", model="solver", samples=3, min_agreement=0.6, require_match=require_match)
    rnd = random.Random(hash((fmt, require_match)) & 0xFFFF)
    kinds = ["engine_error", "kept", "mismatch", "low", "none", "blank_error"]
    for trial in range(40):
        n = rnd.randint(1, 14)
        rows = [_solve_row(f"q{trial}.{i}", fmt, rnd.choice(kinds), rnd) for i in range(n)]
        one_by_one = [verify_columns(pa.Table.from_pylist([r], schema=SCHEMAS["solve"]), fmt, rule) for r in rows]
        want_rejects = [x for f in one_by_one for x in f.rejects.to_pylist()]
        want_kept = [x for f in one_by_one for x in f.kept.to_pylist()]
        # the batch: several shards joined (some empty), as coalesced gives them
        cuts = sorted(rnd.randint(0, n) for _ in range(rnd.randint(0, 4)))
        table = pa.Table.from_pylist(rows, schema=SCHEMAS["solve"])
        shards = _cut(table, cuts)
        joined = pa.concat_tables(shards)
        got = verify_columns(joined, fmt, rule)
        assert got.rejects.to_pylist() == want_rejects, (trial, [r["samples"] for r in rows])
        assert got.kept.to_pylist() == want_kept
        for r in got.rejects.to_pylist():  # each id with its own reason and detail
            if r["reason"] == "engine_error":
                assert r["detail"] == f"boom {r['id']}"


# -- coalesced batches under kill/resume ------------------------------------------------------------


def _failing_solver(request: Any) -> Any:
    if "/solve/" in request.id and ":5." in request.id:
        raise RuntimeError("solver down")
    return script(request)


def _outcome(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": packaged_texts(root)}
    for stage_dir in sorted((root / "run" / "tasks" / "colours").iterdir()):
        for fp in stage_dir.iterdir():
            if not (fp / "manifest.json").is_file():
                continue
            files = sorted((fp / "rejects").glob("*.parquet"))
            out[f"{stage_dir.name}/rejects"] = [
                (r["id"], r["reason"], r["detail"]) for f in files for r in pq.read_table(f).to_pylist()
            ]
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    from tsqa.engines.scripted import ScriptedEngine

    out = {}
    mp = pytest.MonkeyPatch()
    try:
        for batch in (1, 2, 10**6):
            mp.setattr("tsqa.store.shards.BATCH_ROWS", batch)
            root = tmp_path_factory.mktemp(f"ref{batch}") / "p"
            write_small_shards_project(root)
            apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
            out[batch] = _outcome(root)
    finally:
        mp.undo()
    return out


def test_every_batch_size_gives_the_same_rejects_and_dataset(uninterrupted: dict[int, dict[str, Any]]) -> None:
    assert uninterrupted[1]["dataset"]
    assert uninterrupted[1]["verify/rejects"]
    assert uninterrupted[1] == uninterrupted[2] == uninterrupted[10**6]


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("stage", ["normalise", "dedup", "package"])
def test_an_exception_in_a_later_batch_of_other_stages_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[int, dict[str, Any]], batch: int, stage: str
) -> None:
    from tsqa.engines.scripted import ScriptedEngine
    from tsqa.stages import normalise as normalise_module
    from tsqa.stages.dedup import DedupStage
    from tsqa.stages.package import PackageStage

    owner, name = {
        "normalise": (normalise_module, "_raw_texts"),
        "dedup": (DedupStage, "apply"),
        "package": (PackageStage, "process"),
    }[stage]
    real, seen = getattr(owner, name), []

    def failing(*args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("tsqa.store.shards.BATCH_ROWS", batch)
    root = tmp_path / "p"
    write_small_shards_project(root)
    monkeypatch.setattr(
        owner, name, failing if stage == "normalise" else (lambda self, *a, **k: failing(self, *a, **k))
    )
    with pytest.raises(KeyboardInterrupt):
        apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
    monkeypatch.setattr(owner, name, real)
    apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
    assert _outcome(root) == uninterrupted[batch]


@pytest.mark.parametrize("batch", [1, 2, 10**6])
@pytest.mark.parametrize("stage", ["verify", "decontaminate"])
def test_an_exception_in_a_later_batch_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[int, dict[str, Any]], batch: int, stage: str
) -> None:
    from tsqa.engines.scripted import ScriptedEngine
    from tsqa.stages.decontaminate import DecontaminateStage
    from tsqa.stages.verify import VerifyStage

    cls = {"verify": VerifyStage, "decontaminate": DecontaminateStage}[stage]
    monkeypatch.setattr("tsqa.store.shards.BATCH_ROWS", batch)
    real, seen = cls.process, []

    def failing(self: Any, rows: Any, task: Any) -> Any:
        seen.append(rows.num_rows)
        if len(seen) == 2 or (batch == 10**6 and len(seen) == 1):
            real(self, rows, task)
            raise KeyboardInterrupt
        return real(self, rows, task)

    root = tmp_path / "p"
    write_small_shards_project(root)
    monkeypatch.setattr(cls, "process", failing)
    with pytest.raises(KeyboardInterrupt):
        apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
    monkeypatch.setattr(cls, "process", real)
    apply_scripted(root, ScriptedEngine(_failing_solver), accept_failures=True)
    got = _outcome(root)
    assert got == uninterrupted[batch]
    assert got["dataset"] == uninterrupted[1]["dataset"]
    assert got["verify/rejects"] == uninterrupted[1]["verify/rejects"]


# -- report: first rows -----------------------------------------------------------------------------


def _reference_first(tables: list[pa.Table]) -> list[int]:
    seen: set[Any] = set()
    out, offset = [], 0
    for table in tables:
        q = (
            table["question_id"].cast(pa.string()).to_pylist()
            if "question_id" in table.column_names
            else [None] * table.num_rows
        )
        d = table["id"].cast(pa.string()).to_pylist() if "id" in table.column_names else [None] * table.num_rows
        for i, (a, b) in enumerate(zip(q, d, strict=True)):
            key = a if a is not None else b
            k = ("own", offset + i) if key is None else ("key", key)
            if k not in seen:
                seen.add(k)
                out.append(offset + i)
        offset += table.num_rows
    return out


def _id_array(values: list[Any], kind: str) -> pa.Array:
    if kind == "int":
        return pa.array(
            [None if v is None else int(hashlib.md5(v.encode()).hexdigest()[:6], 16) % 5 for v in values], pa.int64()
        )
    if kind == "large":
        return pa.array(values, pa.large_string())
    if kind == "dict":
        return pa.array(values, pa.string()).dictionary_encode()
    if kind == "null":
        return pa.nulls(len(values))
    return pa.array(values, pa.string())


def test_first_rows_against_a_first_occurrence_scan(tmp_path: Path) -> None:
    from tsqa.report.build import _first_rows

    rnd = random.Random(4)
    pool = ["a", "b", "c", "", "0", "1", "\x000", "\x001"]
    for trial in range(80):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        tables, files = [], []
        for n in range(rnd.randint(0, 5)):
            size = rnd.choice([0, 0, 1, 3, 6])
            qs = [rnd.choice([None, *pool]) for _ in range(size)]
            ids = [rnd.choice([None, *pool]) for _ in range(size)]
            cols: dict[str, pa.Array] = {}
            layout = rnd.choice(["both", "both", "q_only", "id_only", "neither"])
            if layout in ("both", "q_only"):
                cols["question_id"] = _id_array(qs, rnd.choice(["str", "large", "dict", "null", "int"]))
            if layout in ("both", "id_only"):
                cols["id"] = _id_array(ids, rnd.choice(["str", "large", "dict", "null", "int"]))
            cols["text"] = pa.array(["t"] * size)
            table = pa.table(cols)
            path = folder / f"part-{n:05d}.parquet"
            pq.write_table(table, path, row_group_size=2)
            tables.append(pq.read_table(path))
            files.append(path)
        assert _first_rows(files).tolist() == _reference_first(tables), trial
