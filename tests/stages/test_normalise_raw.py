"""normalise's `raw` column from the Rust core (`_native.rows_as_json`) against Python's
`json.dumps(doc, ensure_ascii=False, default=str)` of each `to_pylist()` document: the same text,
byte for byte, over random tables of every supported type; unsupported types go to Python."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import random
from typing import Any

import pyarrow as pa
import pytest

from tsqa import _native
from tsqa.stages.normalise import _raw_texts

TEXTS = ["", "plain", 'quote " and \\ back', "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "é ü 😀 \u2028 \ufeff", "'"]
FLOATS = [
    0.0,
    -0.0,
    0.1,
    1.5,
    -2.25,
    1e16,
    1e15,
    1e-5,
    1e-4,
    123456.789,
    1.7976931348623157e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
]


def _float(rng: random.Random) -> float:
    if rng.random() < 0.4:
        return rng.choice(FLOATS)
    return rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)


def _string(rng: random.Random) -> str:
    return "".join(rng.choice(TEXTS) for _ in range(rng.randint(0, 3)))


def _maybe(rng: random.Random, value: Any) -> Any:
    return None if rng.random() < 0.1 else value


def _table(seed: int, rows: int) -> pa.Table:
    rng = random.Random(seed)
    point = pa.struct([("x", pa.float64()), ("label", pa.string()), ("tags", pa.list_(pa.string()))])
    columns = {
        "question": pa.array([_maybe(rng, _string(rng)) for _ in range(rows)], pa.string()),
        "big": pa.array([_maybe(rng, _string(rng)) for _ in range(rows)], pa.large_string()),
        "choices": pa.array(
            [_maybe(rng, [_maybe(rng, _string(rng)) for _ in range(rng.randint(0, 4))]) for _ in range(rows)],
            pa.list_(pa.string()),
        ),
        "answer": pa.array([_maybe(rng, rng.randint(-(2**63), 2**63 - 1)) for _ in range(rows)], pa.int64()),
        "small": pa.array([_maybe(rng, rng.randint(0, 255)) for _ in range(rows)], pa.uint8()),
        "score": pa.array([_maybe(rng, _float(rng)) for _ in range(rows)], pa.float64()),
        "score32": pa.array([_maybe(rng, _float(rng)) for _ in range(rows)], pa.float32()),
        "flag": pa.array([_maybe(rng, rng.random() < 0.5) for _ in range(rows)], pa.bool_()),
        "nothing": pa.nulls(rows),
        "nested": pa.array(
            [_maybe(rng, [[rng.randint(0, 9)] * rng.randint(0, 2)] * rng.randint(0, 2)) for _ in range(rows)],
            pa.large_list(pa.list_(pa.int32())),
        ),
        "point": pa.array(
            [
                _maybe(rng, {"x": _maybe(rng, _float(rng)), "label": _string(rng), "tags": [_string(rng)]})
                for _ in range(rows)
            ],
            point,
        ),
        'clé "x"\n': pa.array([_string(rng) for _ in range(rows)], pa.string()),
    }
    return pa.table(columns)


def _python(table: pa.Table) -> list[str]:
    return [json.dumps(doc, ensure_ascii=False, default=str) for doc in table.to_pylist()]


@pytest.mark.parametrize("seed", range(4))
def test_rows_as_json_equals_json_dumps(seed: int) -> None:
    table = _table(seed, 3000)
    native = _native.rows_as_json(table.to_struct_array())
    assert native is not None
    assert native.to_pylist() == _python(table)


def test_float_corner_cases() -> None:
    values = [*FLOATS, 2.0**-1074, 0.3, 1 / 3, 2.0**53, 2.0**53 + 2, 9007199254740993.0, 1e22, 1e21, 1e-7]
    values += [math.ldexp(random.Random(i).random(), random.Random(i).randint(-1000, 1000)) for i in range(2000)]
    table = pa.table({"f": pa.array(values, pa.float64())})
    assert _native.rows_as_json(table.to_struct_array()).to_pylist() == _python(table)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([datetime.datetime(2020, 1, 2, 3, 4, 5)]),
        pa.array([decimal.Decimal("1.50")]),
        pa.array([b"\x00bytes"]),
        pa.array(["a"]).dictionary_encode(),
        pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
    ],
)
def test_types_outside_plain_json_are_left_to_python(column: pa.Array) -> None:
    table = pa.table({"question": ["q"], "odd": column})
    assert _native.rows_as_json(table.to_struct_array()) is None
    assert _raw_texts(table) is None  # `_record` writes these with json.dumps itself


def test_empty_and_sliced_tables() -> None:
    table = _table(7, 50)
    assert _raw_texts(table.slice(0, 0)).to_pylist() == []  # type: ignore[union-attr]
    sliced = pa.concat_tables([table.slice(3, 10), table.slice(40, 5)])
    assert _native.rows_as_json(sliced.to_struct_array()).to_pylist() == _python(sliced)
