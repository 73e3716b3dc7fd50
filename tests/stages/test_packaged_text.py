"""The native packaged-text renderer (rust/src/render.rs) against the Python reference
(`packaged_text.render_text`), byte for byte, on adversarial corpora: Python's whitespace (the
U+001C..U+001F separators Rust does not call whitespace), the case-insensitive letters of
`re.IGNORECASE` (İ, ı, ſ), "final answer" lines in every position, unicode, empty and absent
fields, every answer format's shape, chunked and large_string columns."""

from __future__ import annotations

import random
from itertools import pairwise

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stage_project import Compiled

from tsqa import _native
from tsqa.stages.packaged_text import COLUMNS, render_text, render_texts
from tsqa.stages.schema import SCHEMAS, to_table

_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\u180e", "\ufeff"]  # last 3: not spaces
_PIECES = [
    "the", "The ", "THE", "final", "Final", "FİNAL", "fınal", "fiNal", "answer", "ANSWER", "anſwer", "is", "İſ",
    "ıs", ":", " ", "\n", "\n\n", "\r\n", "x", ".", "(B)", "A", "é", "e\u0301", "日本語", "🙂", "\x00", "final answer",
    "The final answer is: ", "the  final\tanswer :", "answeris", "thefinal", "ſ", "K", "\u212a",
]  # fmt: skip


def _text(rng: random.Random, pieces: int = 12) -> str:
    return "".join(rng.choice(_PIECES + _SPACES) for _ in range(rng.randrange(pieces)))


def _row(rng: random.Random) -> dict[str, object]:
    shape = rng.choice(["multiple_choice", "short_answer", "free_form", "code"])
    options: list[str | None] | None = None
    if shape == "multiple_choice":
        options = [_text(rng, 4) for _ in range(rng.choice([0, 2, 4, 5, 26]))]
        if options and rng.random() < 0.05:
            options[rng.randrange(len(options))] = None  # rendered as Python's f"{None}"
    elif rng.random() < 0.3:
        options = []
    return {
        "context": rng.choice([None, "", " ", "\x1c", _text(rng), _text(rng, 30)]),
        "question": _text(rng, 20),
        "options": options,
        "enrichment": rng.choice([None, "", "\n", _text(rng, 40), _text(rng) + " The final answer is: " + _text(rng)]),
        "answer_text": _text(rng, 6),
    }


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array([r[c] for r in rows], SCHEMAS["enrich"].field(c).type) for c in COLUMNS], names=list(COLUMNS)
    )


def test_native_text_is_the_reference_text_on_a_large_random_corpus() -> None:
    rng = random.Random(20261207)
    rows = [_row(rng) for _ in range(20_000)]
    assert render_texts(_table(rows)).to_pylist() == [render_text(r) for r in rows]


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES + _SPACES), max_size=25).map("".join),
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=6)),
    st.text(max_size=20),
)
def test_native_text_is_the_reference_text_for_any_text(
    enrichment: str, context: str | None, options: list[str] | None, question: str
) -> None:
    row = {
        "context": context,
        "question": question,
        "options": options,
        "enrichment": enrichment,
        "answer_text": question,
    }
    assert render_texts(_table([row])).to_pylist() == [render_text(row)]


def test_chunked_and_large_string_columns() -> None:
    """Columns chunked differently from each other, large_string and large_list types."""
    rng = random.Random(7)
    rows = [_row(rng) for _ in range(5_000)]
    table = _table(rows)
    cuts = {c: sorted(rng.sample(range(1, len(rows)), 3 + i)) for i, c in enumerate(COLUMNS)}

    def chunked(column: pa.ChunkedArray, at: list[int]) -> pa.ChunkedArray:
        bounds = [0, *at, len(rows)]
        return pa.chunked_array([column.slice(a, b - a).combine_chunks() for a, b in pairwise(bounds)])

    columns = [chunked(table.column(c), cuts[c]) for c in COLUMNS]
    columns[1] = columns[1].cast(pa.large_string())
    columns[2] = columns[2].cast(pa.large_list(pa.large_string()))
    texts = _native.render_packaged_texts(*columns)
    assert texts.type == pa.string()
    assert texts.to_pylist() == [render_text(r) for r in rows]


def test_a_table_with_every_stage_column() -> None:
    rng = random.Random(3)
    rows = [{**_row(rng), "question_id": f"q{i}", "variant": "v"} for i in range(50)]
    for r in rows:  # parse's bounds: at most 26 options, no null items
        r["options"] = [o or "" for o in r["options"]] if r["options"] else r["options"]
    assert render_texts(to_table("enrich", rows)).to_pylist() == [render_text(r) for r in rows]
    assert render_texts(to_table("enrich", [])).to_pylist() == []


def test_rows_python_cannot_render_are_refused_with_their_row() -> None:
    good = {"context": None, "question": "Q", "options": ["a"], "enrichment": None, "answer_text": "a"}
    with pytest.raises(_native.NullValueError, match="'question' has a null at row 1"):
        render_texts(_table([good, {**good, "question": None}]))
    with pytest.raises(_native.NullValueError, match="'answer_text' has a null at row 0"):
        render_texts(_table([{**good, "answer_text": None}]))
    too_many = {**good, "options": ["o"] * 27}
    with pytest.raises(IndexError):  # the reference fails too: 26 letters
        render_text(too_many)
    with pytest.raises(_native.InputError, match="row 0: 27 options"):
        render_texts(_table([too_many]))
    with pytest.raises(_native.InputError, match="different lengths"):
        _native.render_packaged_texts(
            *(pa.array(["x"] * n) for n in (1, 1)), pa.array([["a"]]), pa.array(["x"]), pa.array([], pa.string())
        )
    with pytest.raises(_native.ColumnTypeError, match="'options'"):
        _native.render_packaged_texts(*(pa.array(["x"]) for _ in range(5)))


def test_decontamination_refuses_exactly_what_the_reference_text_refuses(compiled: Compiled) -> None:
    """Eval text hidden in every field, in other cases and spacing, with a closing final-answer
    line that the packaged text drops: the stage rejects exactly the rows whose reference text
    shares `min_overlap` n-grams with the eval records."""
    from tsqa.curate.contamination import contamination
    from tsqa.stages.decontaminate import _index, decontaminate, eval_sources

    eval_text = "which gas do green plants release into the air during photosynthesis"
    rng = random.Random(11)
    rows = []
    for i in range(2_000):
        row = {**_row(rng), "question_id": f"q{i}", "variant": "v"}
        row["options"] = [o or "x" for o in row["options"]][:26] if row["options"] else row["options"]
        field = rng.choice(["context", "question", "enrichment", "answer_text", None])
        if field is not None:
            words = eval_text.split()[: rng.randrange(3, 12)]
            hidden = rng.choice([" ", "\n", "\x1c", "  "]).join(w.upper() if rng.random() < 0.3 else w for w in words)
            row[field] = f"{row[field] or ''} {hidden}"
            if field == "enrichment" and rng.random() < 0.5:  # in the final-answer line: not packaged
                row[field] = f"Reasoning. The final answer is: {hidden}"
        rows.append(row)
    sources = eval_sources(compiled.loaded, [])
    out = decontaminate(compiled.loaded, to_table("enrich", rows), sources)
    settings_ = compiled.loaded.spec.decontaminate
    _, index = _index(sources, settings_.ngram)
    counts = contamination(pa.array([render_text(r) for r in rows]), index).count
    refused = {f"{r['question_id']}/v" for r, c in zip(rows, counts, strict=True) if c >= settings_.min_overlap}
    assert 100 < len(refused) < 1_900
    assert set(out.rejects.column("id").to_pylist()) == refused
    assert out.kept.num_rows + len(refused) == len(rows)
    assert out.kept.column("text").to_pylist() == [
        render_text(r) for r in rows if f"{r['question_id']}/v" not in refused
    ]
