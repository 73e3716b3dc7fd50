"""The parse stage's Rust core against its Python implementation (the reference): the same kept
questions (option orders included) and the same rejects, reason and message, row for row, over
a large corpus of valid, malformed and adversarial responses."""

from __future__ import annotations

import json
import random
from typing import Any

import pyarrow as pa
import pytest

from tsqa import _native
from tsqa.stages.parse import _FIELDS, parse_columns, parse_columns_python
from tsqa.stages.schema import SCHEMAS

SEED_QUESTIONS = [
    "Which gas do green plants release into the air during photosynthesis?",
    "What is the boiling point of water at sea level in degrees Celsius?",
    "Ĉu la ŝipo velas al la insulo?",
    "",
]
WORDS = ["oxygen", "Straße", "STRASSE", "ﬁne", "FINE", "naïve", "NAÏVE", "x", "A", "b", "it's", 'say "hi"', "a\\b"]
ODD = [
    "\x1c",
    "\u3000",
    "\u200b",
    "\x00",
    "\x7f",
    "\u00a0",
    "\ue000",
    "😀",
    "\u2028",
    "\t",
    "\n",
    "'",
    '"',
    "é",
    "ı",
    "ſ",
]
BOUNDS = {"question_chars": (10, 2000), "answer_chars": (1, 300), "long_answer_chars": (1, 6000)}
KEYS = ["question", "answer", "options", "context", "extra", "clé", "'q'", '"', "\x01", "z😀"]


def _text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
    if kind < 0.6:
        return "".join(rng.choice(WORDS + ODD) for _ in range(rng.randint(0, 8)))
    if kind < 0.7:
        return rng.choice(ODD) + rng.choice(SEED_QUESTIONS) + rng.choice(ODD)
    if kind < 0.75:
        return "q" * rng.choice([9, 10, 2000, 2001, 6001])
    if kind < 0.8:
        return rng.choice(["A", "b", "(C)", " d. ", "E", "ı", "ſ", "ß", "AB", "()", "(a", ""])
    return rng.choice(SEED_QUESTIONS)


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.random()
    if kind < 0.6 or depth > 2:
        return _text(rng)
    if kind < 0.7:
        return rng.choice([None, True, 3, -2.5, 10**30, float("nan"), float("inf")])
    if kind < 0.85:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _item(rng: random.Random, seed_question: str) -> Any:
    if rng.random() < 0.05:
        return _value(rng)
    item: dict[str, Any] = {}
    question = seed_question if rng.random() < 0.1 else "Which one of these " + _text(rng) + "?"
    if rng.random() < 0.1:
        question = _value(rng)
    item["question"] = question
    n = rng.choice([2, 3, 4, 4, 4, 5, 1, 0])
    options = [f"{rng.choice(WORDS)} {i}" if rng.random() < 0.8 else _text(rng) for i in range(n)]
    if rng.random() < 0.1:
        options = _value(rng)
    if rng.random() < 0.9:
        item["options"] = options
    answers = ["A", "(b)", "c.", " D ", "e", _text(rng)]
    if isinstance(options, list) and options and all(isinstance(o, str) for o in options):
        answers += [options[0].upper(), options[-1].casefold(), " " + options[0]]
    item["answer"] = rng.choice(answers) if rng.random() < 0.92 else _value(rng)
    if rng.random() < 0.5:
        item["context"] = _text(rng) if rng.random() < 0.8 else _value(rng)
    if rng.random() < 0.1:
        item[rng.choice(KEYS)] = _value(rng)
    return item


def _response(rng: random.Random, seed_question: str) -> tuple[str | None, str | None, str | None]:
    """(text, finish_reason, error)"""
    kind = rng.random()
    if kind < 0.04:
        return None, None, rng.choice(["boom", "", "x" * 500, "é" * 400])
    if kind < 0.07:
        return None, "stop", None
    payload: Any = {"questions": [_item(rng, seed_question) for _ in range(rng.randint(1, 3))]}
    if kind < 0.12:
        payload = rng.choice([{"questions": []}, {"q": 1}, [], "x", None, {"questions": {}}])
    text = json.dumps(payload, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
    if rng.random() < 0.05:  # repeated keys: the last one counts
        text = text.replace('{"question"', '{"question": 1, "question"', 1)
    finish = "stop"
    if rng.random() < 0.1:
        text = text[: rng.randint(0, len(text))]
        finish = rng.choice(["length", "stop", None])
    if rng.random() < 0.03:
        text = rng.choice(["", " ", "\ufeff{}", "{'a': 1}", "[1,]", text + " x", "\x00", "NaN"])
    return text, finish, None


def _table(seed: int, rows: int) -> pa.Table:
    rng = random.Random(seed)
    columns: dict[str, list[Any]] = {f: [] for f in _FIELDS}
    for i in range(rows):
        seed_question = rng.choice(SEED_QUESTIONS)
        text, finish, error = _response(rng, seed_question)
        columns["candidate_id"].append(f"t:{i // 2}.{i % 2}")
        columns["seed_id"].append(f"t:{i // 2}")
        columns["seed_question"].append(seed_question)
        columns["n_options"].append(rng.choice([None, 2, 4, 4, 4]))
        columns["text"].append(text)
        columns["finish_reason"].append(finish)
        columns["error"].append(error)
    schema = SCHEMAS["generate"]
    return pa.table({f: pa.array(columns[f], schema.field(f).type) for f in _FIELDS})


@pytest.mark.parametrize("fmt", ["multiple_choice", "short_answer", "free_form"])
@pytest.mark.parametrize("with_context", [False, True])
def test_rust_parse_equals_python_parse(fmt: str, with_context: bool) -> None:
    table = _table(len(fmt) * 2 + with_context, 4000)
    native = parse_columns(table, fmt, with_context=with_context)
    python = parse_columns_python(table, fmt, with_context=with_context)
    args = [table.column(f) for f in _FIELDS]  # the Rust core decided every row (no batch fallback)
    assert _native.parse_generations(*args, format=fmt, with_context=with_context, **BOUNDS) is not None
    assert native.rejects.num_rows > 500  # the corpus exercises the rejections
    assert native.kept.num_rows > 100
    assert native.kept.schema == python.kept.schema
    assert native.kept.to_pylist() == python.kept.to_pylist()
    assert native.rejects.to_pylist() == python.rejects.to_pylist()
    reasons = set(native.rejects.column("reason").to_pylist())
    assert {"schema", "length", "invalid_json", "engine_error", "truncated", "near_copy_of_seed"} <= reasons
    if fmt == "multiple_choice":
        assert {"option_count", "duplicate_options", "answer_not_in_options"} <= reasons


def test_empty_shard() -> None:
    table = _table(0, 0)
    out = parse_columns(table, "multiple_choice", with_context=False)
    assert out.kept.num_rows == 0 and out.rejects.num_rows == 0
    assert out.kept.schema == SCHEMAS["parse"]


@pytest.mark.parametrize(
    "text",
    [
        '{"questions": [{"question": "What is \\ud800 here?", "answer": "x"}]}',
        "[" * 150 + "]" * 150,
        '{"questions": [{"question": "What is this number?", "answer": "x", "n": ' + "9" * 4500 + "}]}",
    ],
)
def test_batches_only_python_decodes_alike_go_to_python(text: str) -> None:
    good = json.dumps({"questions": [{"question": "How many legs does a spider have?", "answer": "eight"}]})
    table = pa.table(
        {
            "candidate_id": ["t:0.0", "t:1.0"],
            "seed_id": ["t:0", "t:1"],
            "seed_question": ["What colour is the sky?", "What colour is the sea?"],
            "n_options": pa.array([None, None], pa.int32()),
            "text": [good, text],
            "finish_reason": ["stop", "stop"],
            "error": pa.array([None, None], pa.string()),
        }
    )
    args = [table.column(f) for f in _FIELDS]
    assert _native.parse_generations(*args, format="short_answer", with_context=False, **BOUNDS) is None
    try:
        expected = parse_columns_python(table, "short_answer", with_context=False)
    except Exception as err:  # Python's own behaviour, whatever it is, is the reference
        with pytest.raises(type(err)):
            parse_columns(table, "short_answer", with_context=False)
        return
    out = parse_columns(table, "short_answer", with_context=False)
    assert out.kept.to_pylist() == expected.kept.to_pylist()
    assert out.rejects.to_pylist() == expected.rejects.to_pylist()
    assert out.kept.column("question_id").to_pylist()[0] == "t:0.0.0"


def test_lone_surrogates_in_kept_fields_are_rejected_not_a_crash() -> None:
    texts = [
        '{"questions": [{"question": "What is \\ud800 here?", "answer": "x"}]}',
        '{"questions": [{"question": "What is here?", "answer": "x", "note": "\\udc00"}]}',
    ]
    table = pa.table(
        {
            "candidate_id": ["t:0.0", "t:1.0"],
            "seed_id": ["t:0", "t:1"],
            "seed_question": ["Completely unrelated words", "Completely unrelated words"],
            "n_options": pa.array([None, None], pa.int32()),
            "text": texts,
            "finish_reason": ["stop", "stop"],
            "error": pa.array([None, None], pa.string()),
        }
    )
    out = parse_columns(table, "short_answer", with_context=False)
    assert out.rejects.to_pylist() == [
        {
            "id": "t:0.0",
            "reason": "schema",
            "detail": "question, answer, options and context must be valid Unicode (a lone surrogate escape)",
        }
    ]
    assert out.kept.column("question").to_pylist() == ["What is here?"]  # an unused field may hold one


def test_unicode_tables_are_this_pythons() -> None:
    """The Rust core's copy of CPython's Unicode facts (casefold, isspace, isprintable, upper)
    is what this Python says; regenerate with scripts/gen_pystr_tables.py when it is not."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("gen_pystr_tables", root / "scripts" / "gen_pystr_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (root / "rust" / "src" / "parse_pystr_tables.rs").read_text().splitlines()[1:]
    assert module.render().splitlines()[1:] == committed  # the first line names the Python version


def test_wrong_column_types_are_refused_with_the_column_named() -> None:
    table = _table(1, 3)
    args = [table.column(f) for f in _FIELDS]
    args[3] = pa.array(["4", "4", "4"])
    with pytest.raises(TypeError, match="n_options"):
        _native.parse_generations(*args, format="short_answer", with_context=False, **BOUNDS)
