"""Attacks on the parse stage's Rust core (`_native.parse_generations`, issue 10, branch rusta11):
the Python implementation (`parse_columns_python`) is the oracle. Every case compares kept rows
(option orders included) and rejects (reason and message) row for row; a case that shows a defect
was a strict xfail naming it (all fixed; the tests now pin the fix)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsqa import _native
from tsqa.stages.parse import _FIELDS, parse_columns, parse_columns_python

BOUNDS = {"question_chars": (10, 2000), "answer_chars": (1, 300), "long_answer_chars": (1, 6000)}
Q = "What is the colour of the sky at noon today?"
SEED = "Completely unrelated seed words for the near copy check"


def _table(texts: list[str | None], *, finish: str | None = "stop", n_options: int | None = None) -> pa.Table:
    n = len(texts)
    return pa.table(
        {
            "candidate_id": [f"t:{i}.0" for i in range(n)],
            "seed_id": [f"t:{i}" for i in range(n)],
            "seed_question": [SEED] * n,
            "n_options": pa.array([n_options] * n, pa.int32()),
            "text": pa.array(texts, pa.string()),
            "finish_reason": pa.array([finish] * n, pa.string()),
            "error": pa.array([None] * n, pa.string()),
        }
    )


def _outcome(fn: Any, table: pa.Table, fmt: str, ctx: bool) -> Any:
    try:
        out = fn(table, fmt, with_context=ctx)
    except Exception as err:  # the oracle's own behaviour, whatever it is, is what is compared
        return ("raised", type(err).__name__)
    return out.kept.to_pylist(), out.rejects.to_pylist()


def _same(table: pa.Table, fmt: str = "short_answer", ctx: bool = False) -> None:
    python = _outcome(parse_columns_python, table, fmt, ctx)
    assert python[0] != "raised", python  # these cases are meant to be decidable
    assert _outcome(parse_columns, table, fmt, ctx) == python


def _doc(answer_json: str, extra: str = "") -> str:
    return '{"questions": [{"question": "' + Q + '", "answer": ' + answer_json + extra + "}]}"


# -- JSON grammar edge cases: Python's json.loads decides ------------------------------------------

GOOD = _doc('"blue"')
JSON_CASES = [
    GOOD,
    GOOD[:-2] + ",]}",  # trailing comma
    GOOD[:-1] + ",}",
    "\ufeff" + GOOD,  # BOM: Python refuses
    "\x0b" + GOOD,  # vertical tab is not JSON whitespace
    "\x0c" + GOOD,
    "\xa0" + GOOD,
    "\u2028" + GOOD,
    GOOD + " \n\r\t",
    GOOD + "\x00",
    GOOD + "{}",
    '{"questions" : [ {"question" : "@Q" , "answer" : "a" } ] }'.replace("@Q", Q),
    _doc('"bl\tue"'),  # a raw control character inside a string
    _doc('"bl\x1fue"'),
    _doc('"bl\x7fue"'),  # DEL is allowed
    _doc('"bl\\u0041ue"'),
    _doc('"\\u0000"'),
    _doc('"\\ud83d\\ude00"'),
    _doc('"\\uD83D\\uDE00"'),
    _doc('"\\ud83d\\u0041"'),  # a lone high surrogate: Python decodes, the field is a schema reject
    _doc('"\\ude00\\ud83d"'),
    _doc('"\\u00"'),
    _doc('"\\u+041"'),
    _doc('"\\u 041"'),
    _doc('"\\u0x41"'),
    _doc('"\\U0041"'),
    _doc('"\\a"'),
    _doc('"\\\'"'),
    _doc('"\\/"'),
    _doc("01"),
    _doc("-01"),
    _doc("-0"),
    _doc("1."),
    _doc(".1"),
    _doc("1e+"),
    _doc("1E5"),
    _doc("1e400"),
    _doc("1.0e-400"),
    _doc("1e99999999999999999999"),
    _doc("-"),
    _doc("-NaN"),
    _doc("nan"),
    _doc("NaN"),
    _doc("-Infinity"),
    _doc("Infinity"),
    _doc("+1"),
    _doc("0x10"),
    _doc("True"),
    _doc("true"),
    _doc("1.0"),
    _doc("1"),
    _doc("null"),
    _doc("1" * 4299),  # just below CPython's 4300-digit limit
    _doc("1" * 4301 + ".5"),  # a float of any length is fine
    _doc("1" * 4301 + "e5"),
    _doc('"a"', ', "answer": 1'),  # repeated keys: the last one counts
    _doc("1", ', "answer": "a"'),
    '{"questions": 1, "questions": [{"question": "@Q", "answer": "a"}]}'.replace("@Q", Q),
    '{"questions": [{"question": "@Q", "answer": "a"}], "questions": []}'.replace("@Q", Q),
    '{"questions": [{"question": "@Q", "answer": "a"}, 1, "s", null, [], true, 1.5]}'.replace("@Q", Q),
    '{"questions": [{"\\u00e9": 1, "\\u0000": 2, "é": 3, "a\\"b": 4, "\'": 5, "\\n\\u0085\\u200b": 6}]}',
    _doc('"a"')[:-1],
    _doc('"a}]}'),
    _doc('"' + "x" * 10000 + '"'),
    _doc('"' + "\\n" * 500 + 'x"'),
    _doc('"a"', ', "n": ' + "[" * 99 + "]" * 99),  # nesting just below the Python hand-over
    _doc('"a"', ', "n": ' + "[" * 98 + "]" * 98),
    _doc('"a"', ', "n": ' + '{"a":' * 97 + "1" + "}" * 97),
    _doc('"a"', ', "n": ' + "[" * 500 + "]" * 500),  # above it: Python decides
    _doc('"a"', ', "n": ' + "[" * 2000 + "]" * 2000),  # past Python's recursion limit
    _doc('"a"', ', "n": ' + "[" * 2000),
    "",
    " ",
    "null",
    '"x"',
    "[]",
    "{}",
    "NaN",
    '{"questions": {}}',
    '{"questions": "abc"}',
    '{"questions": []}',
    "{'questions': []}",
]


@pytest.mark.parametrize("fmt", ["short_answer", "free_form"])
@pytest.mark.parametrize("finish", ["stop", "length", None])
def test_json_edge_cases_decide_as_python(fmt: str, finish: str | None) -> None:
    for text in JSON_CASES:
        table = _table([text], finish=finish)
        python = _outcome(parse_columns_python, table, fmt, False)
        assert _outcome(parse_columns, table, fmt, False) == python, repr(text[:120])


def test_json_edge_cases_in_one_batch() -> None:
    """One batch holding every case (a Python-only row sends the whole batch to Python)."""
    _same(_table(JSON_CASES))


def test_mutated_documents_decide_as_python() -> None:
    """Valid responses mutated by inserting, deleting and replacing JSON-significant fragments."""
    rng = random.Random(11)
    base = [
        json.dumps(
            {"questions": [{"question": Q, "answer": "B", "options": ["red", "blue", "green"], "context": "Sky é 😀"}]},
            ensure_ascii=a,
            indent=i,
        )
        for a in (True, False)
        for i in (None, 1)
    ]
    frags = ['"', "\\", "\\u", "\\ud83d", "\\ude00", "{", "}", "[", "]", ",", ":", " ", "\t", "\n", "\x0b"]
    frags += ["\xa0", "\u2028", "\ufeff", "\x00", "\x1f", "0", "-", "1", "e", "+", ".", "NaN", "-Infinity"]
    frags += ["null", "tru", "é", "😀", "\\/", "\\b", "\\x", "'"]
    texts = []
    for _ in range(3000):
        t = rng.choice(base)
        for _ in range(rng.randint(1, 4)):
            i, op = rng.randrange(len(t) + 1), rng.random()
            if op < 0.4:
                t = t[:i] + rng.choice(frags) + t[i:]
            elif op < 0.7:
                t = t[:i] + t[i + rng.randint(1, 3) :]
            else:
                t = t[:i] + rng.choice(frags) + t[i + 1 :]
        texts.append(t)
    for fmt, ctx in [("multiple_choice", False), ("multiple_choice", True), ("short_answer", False)]:
        for k in range(0, len(texts), 500):  # batches small enough that a Python-only row hides few others
            _same(_table(texts[k : k + 500]), fmt, ctx)


# -- multiple choice: casefold, upper, strip, repr -------------------------------------------------

SPECIAL = [
    *["ß", "SS", "ss", "ẞ", "ﬁ", "FI", "fi", "İ", "i̇", "I", "ı", "i", "Σ", "σ", "ς", "ΣΑΣ", "σας", "e\u0301"],
    *["é", "É", "ǅ", "Ǆ", "ǆ", "K", "\u212a", "k", "Å", "\u212b", "å", "ŉ", "ʼN", "ΐ", "\u0390", "ﬀ", "ﬅ", "ﬆ"],
    *["ſ", "S", "\u1e9e", "'", '"', "\\", "\x00", "\x01", "\x7f", "\x85", "\xa0", "\xad", "\u200b", "\u2028"],
    *["\u2029", "\ufeff", "\ue000", "\U000e0001", "\U0010ffff", "\U0001f600", "\u0378", "\x1c", "\x1f", " "],
    *["\t", "\u3000", "\u180e", "(", ")", ".", "A", "b", "c", "D", "(A)", "a.", "((b))", ".C.", "Z", "z", "AA"],
    *["\u24b6", "\uff21", "\U0001d400", "ª", "º", "ǈ", "ﬃ", "\u0345", "ͅ", "Ω", "\u2126", "µ", "μ", "ϐ"],
]


@pytest.mark.parametrize("seed", range(3))
def test_multiple_choice_folding_letters_and_messages(seed: int) -> None:
    rng = random.Random(seed)

    def s() -> str:
        return "".join(rng.choice(SPECIAL) for _ in range(rng.randint(1, 3)))

    for ctx in (False, True):
        texts = []
        for _ in range(600):
            n = rng.choice([2, 3, 4, 4, 5, 26, 27, 30])
            opts = [s() for _ in range(n)]
            if rng.random() < 0.3:
                opts[1] = opts[0].upper() if rng.random() < 0.5 else opts[0].casefold()
            answer = rng.choice(
                [s(), rng.choice(opts), rng.choice(opts).upper(), rng.choice(opts).swapcase(), " (ı) ", "ſ.", "z"]
            )
            item: dict[str, Any] = {"question": Q, "answer": answer, "options": opts}
            if rng.random() < 0.2:
                del item["answer"]
                item[s()] = 1
            if rng.random() < 0.5:
                item["context"] = s()
            texts.append(json.dumps({"questions": [item]}, ensure_ascii=rng.random() < 0.5))
        for k in range(0, len(texts), 200):
            _same(_table(texts[k : k + 200], n_options=rng.choice([None, 4])), "multiple_choice", ctx)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(min_size=1, max_size=6), min_size=0, max_size=6),
    st.text(max_size=8),
    st.text(max_size=12),
)
def test_any_unicode_options_answer_and_question_decide_as_python(options: list[str], answer: str, q: str) -> None:
    item = {"question": Q + q, "answer": answer, "options": options, "context": q}
    texts = [json.dumps({"questions": [item]}, ensure_ascii=a) for a in (True, False)]
    for fmt, ctx in [("multiple_choice", False), ("multiple_choice", True), ("short_answer", False)]:
        _same(_table(texts), fmt, ctx)


def test_detail_is_cut_at_300_code_points_not_bytes() -> None:
    opts = ["😀" * 60 + str(i) for i in range(4)] + ["😀" * 60 + "0"]
    text = json.dumps({"questions": [{"question": Q, "answer": "A", "options": opts}]}, ensure_ascii=False)
    out = parse_columns(_table([text]), "multiple_choice", with_context=False)
    detail = out.rejects.column("detail").to_pylist()[0]
    assert len(detail) == 300
    _same(_table([text]), "multiple_choice")


# -- defects ---------------------------------------------------------------------------------------


def test_a_huge_integer_in_a_response_is_a_reject_not_a_crash() -> None:
    table = _table([GOOD, _doc('"blue"', ', "n": ' + "9" * 5000)])
    out = parse_columns(table, "short_answer", with_context=False)  # raises ValueError today
    assert out.kept.num_rows + out.rejects.num_rows >= 2


def test_an_unterminated_huge_integer_is_rejected_by_the_native_core() -> None:
    """The Rust core calls a truncated response with a 5000-digit number `truncated`, and so does
    the Python reference (it raised Python's digit-limit ValueError before)."""
    table = _table(["[" + "9" * 5000], finish="length")
    out = parse_columns(table, "short_answer", with_context=False)
    assert out.rejects.column("reason").to_pylist() == ["truncated"]
    reference = parse_columns_python(table, "short_answer", with_context=False)
    assert reference.rejects.column("reason").to_pylist() == ["truncated"]


def _invalid_utf8(values: list[bytes]) -> pa.Array:
    offsets = np.cumsum([0, *(len(v) for v in values)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(values))]
    )


def test_invalid_utf8_in_the_text_column_is_refused() -> None:
    text = _invalid_utf8([b'{"questions": [{"question": "What is the \xff\xfe colour here?", "answer": "x"}]}'])
    args = {
        "candidate_id": pa.array(["t:0.0"]),
        "seed_id": pa.array(["t:0"]),
        "seed_question": pa.array([SEED]),
        "n_options": pa.array([None], pa.int32()),
        "text": text,
        "finish_reason": pa.array(["stop"]),
        "error": pa.array([None], pa.string()),
    }
    try:
        out = _native.parse_generations(
            *(args[f] for f in _FIELDS), format="short_answer", with_context=False, **BOUNDS
        )
    except (ValueError, TypeError, UnicodeDecodeError):
        return  # a clear refusal is the fix
    assert out is not None
    for column in out.values():
        column.validate(full=True)  # raises ArrowInvalid: invalid UTF-8 in the output


def test_near_copies_and_column_layouts_decide_as_python() -> None:
    """Near copies of odd seed questions (digits, case, fullwidth, a 1000-char seed), and the same
    batch with columns chunked differently, sliced, large_string, string_view and int64."""
    rng = random.Random(3)
    seeds = ["What is 2 + 2 equal to in base 10 arithmetic?", "", "?!?!", "Ünïcödé wörds ärë hërë tôô"]
    seeds += ["ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ｈｅｒｅ ｎｏｗ", "a b", "x " * 500, "What is the capital city of France?"]

    def mutate(s: str) -> str:
        w = s.split()
        for _ in range(rng.randint(0, 3)):
            if not w:
                break
            i, op = rng.randrange(len(w)), rng.random()
            if op < 0.3:
                w[i] = w[i].upper()
            elif op < 0.5:
                w[i] = str(rng.randint(0, 99))
            elif op < 0.7:
                del w[i]
            elif op < 0.85:
                w[i] = w[i] + rng.choice(["!", ",", "'s", "é"])
            else:
                w.insert(i, rng.choice(["the", "a", "of"]))
        return " ".join(w) + rng.choice(["", "?", " .", "\u3000"]) + " padding words"

    columns: dict[str, list[Any]] = {f: [] for f in _FIELDS}
    for i in range(1500):
        seed = rng.choice(seeds)
        items = [
            {"question": mutate(seed), "answer": "A", "options": ["x", "y", "z"]},
            {"question": mutate(seed), "answer": "b", "options": ["p", "q"]},
        ]
        row = [f"t:{i}.0", f"t:{i}", seed, rng.choice([None, 3, 2]), json.dumps({"questions": items}), "stop", None]
        for f, v in zip(_FIELDS, row, strict=True):
            columns[f].append(v)
    base = pa.table({f: pa.array(v, pa.int64() if f == "n_options" else pa.string()) for f, v in columns.items()})
    _same(base, "multiple_choice")
    out = parse_columns(base, "multiple_choice", with_context=False)
    assert "near_copy_of_seed" in out.rejects.column("reason").to_pylist()
    relaid = {}
    for j, f in enumerate(_FIELDS):
        arr = base.column(f).combine_chunks()
        if f == "text":
            arr = arr.cast(pa.large_string())
        elif f == "seed_question":
            arr = arr.cast(pa.string_view())
        cut = [0, 7, 1000, 1499][j % 4]
        relaid[f] = pa.chunked_array([arr.slice(0, cut), arr.slice(cut)] if cut else [arr])
    _same(pa.table(relaid), "multiple_choice")
    _same(base.slice(17, 900), "multiple_choice")


def test_apply_survives_a_response_with_a_huge_integer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apply"))
    import scripted_project as sp

    from tsqa.apply.session import run_apply
    from tsqa.engines.scripted import ScriptedEngine

    sp.write_project(tmp_path)
    original = sp.generator_reply

    def reply(seed_index: int) -> str:
        if seed_index == 0:
            item = '{"question": "Which colour is grass on a sunny day?", "options": ["green", "red"], "answer": "A"'
            return '{"questions": [' + item + ', "n": ' + "7" * 5000 + "}]}"
        return original(seed_index)

    monkeypatch.setattr(sp, "generator_reply", reply)
    engine = ScriptedEngine(sp.script)
    result = run_apply([tmp_path / "specs"], project_file=tmp_path / "tsqa.yaml", engine_factory=lambda cfg: engine)
    assert result.manifests["colours"]["parse"].rejections


def test_every_code_point_in_messages_folding_and_stripping() -> None:
    """Every non-surrogate code point, 16 to a response: in the answer (repr in the message), as
    an option beside its upper case (casefold decides duplicates), and around an option (strip)."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = []
    for k in range(0, len(cps), 16):
        chunk = "".join(chr(c) for c in cps[k : k + 16])
        item = {"question": Q, "answer": "«" + chunk + "'\"", "options": ["one", "two", "three"]}
        texts.append(json.dumps({"questions": [item]}, ensure_ascii=k % 32 == 0))
    for cp in cps[:: max(1, len(cps) // 20000)]:
        c = chr(cp)
        items = [
            {"question": Q, "answer": "A", "options": [c, c.upper(), "x"]},
            {"question": Q, "answer": c.casefold() or "A", "options": ["y", c + "z" + c, "x"]},
        ]
        texts.append(json.dumps({"questions": items}, ensure_ascii=False))
    for k in range(0, len(texts), 5000):
        _same(_table(texts[k : k + 5000]), "multiple_choice")
