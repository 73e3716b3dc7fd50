"""Normalise column by column: when a task's question, choices, answer and context are plain columns
(the spec's `fields:` name columns, or a files seed has the default ones), the rows whose record is
certain are normalised as Arrow arrays instead of one Python document at a time.

A row is taken here only when the per-document path (`normalise._record`) could not fail on it nor
read it another way: text question with a letter or digit in it, a non-empty list of non-null text
choices one of which is more than a letter label, an integer answer within the choices, a text or null
context, and its raw JSON written by the Rust core. Every other row (a null, letter-label choices, an
index out of range, a blank question, a value of another type …) goes through `_record`, which gives
it its record or its failure reason. Both paths give the same record for a row
(tests/seeds/test_normalise_columns.py runs every row through both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tsqa.stages.schema import SCHEMAS

if TYPE_CHECKING:
    from tsqa.seeds.normalise import _Plan

Mask = npt.NDArray[np.bool_]

# A letter label ("A", "(b).") holds one ASCII letter and no digit: two letters or digits rule it out
# (`letters.letters_of`), as one rules out a blank question (`question is empty`).
_TWO_ALNUM = "[A-Za-z0-9].*[A-Za-z0-9]"
_ONE_ALNUM = "[A-Za-z0-9]"


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The columns a task's fields are (choices/answer/context None when the task has none)."""

    task: str
    question: str
    choices: str | None
    answer: str | None
    context: str | None


def column_plan(task: str, format: str, plan: _Plan) -> ColumnPlan | None:
    """The plan's fields as columns, or None when any of them is a template, a function or a
    constant (those rows are all normalised per document)."""
    rules = (plan.question, plan.choices, plan.answer, plan.context)
    if any(r is not None and r.column is None for r in rules) or plan.shuffle:
        return None
    if format == "multiple_choice" and (plan.choices is None or plan.answer is None):
        return None
    return ColumnPlan(
        task=task,
        question=plan.question.column,  # type: ignore[arg-type]
        choices=plan.choices.column if plan.choices is not None else None,
        answer=plan.answer.column if plan.answer is not None else None,
        context=plan.context.column if plan.context is not None else None,
    )


def certain_rows(cols: ColumnPlan | None, shard: pa.Table, raws: pa.Array | None) -> Mask:
    """Which rows of `shard` `records` normalises (see the module doc); all False without a column
    plan or when a column's type is not one it reads."""
    none = np.zeros(shard.num_rows, np.bool_)
    if cols is None or raws is None or shard.num_rows == 0 or not _takes_rows(shard):
        return none
    question = _column(shard, cols.question)
    if question is None or not _is_text(question.type):
        return none
    ok = _true(pc.match_substring_regex(question, _ONE_ALNUM)) & _true(pc.is_valid(raws))
    answer = _column(shard, cols.answer) if cols.answer is not None else None
    if cols.answer is not None:
        if answer is None or not (pa.types.is_integer(answer.type) or (cols.choices is None and _is_text(answer.type))):
            return none
        ok &= _true(pc.is_valid(answer))
    if cols.context is not None:
        context = _column(shard, cols.context)
        if context is None or not (_is_text(context.type) or pa.types.is_null(context.type)):
            return none
    if cols.choices is not None:
        choices = _column(shard, cols.choices)
        if choices is None or answer is None or not _is_text_list(choices.type):
            return none
        lengths = _ints(pc.list_value_length(choices).fill_null(0))
        flat = pc.list_flatten(choices)  # a null list gives no values, even with values behind it
        parents = np.repeat(np.arange(len(lengths)), lengths)
        nulls = np.bincount(parents, weights=_true(pc.is_null(flat)), minlength=len(lengths))
        worded = np.bincount(parents, weights=_true(pc.match_substring_regex(flat, _TWO_ALNUM)), minlength=len(lengths))
        try:
            index = _ints(answer.cast(pa.int64()).fill_null(-1))
        except pa.ArrowInvalid:  # an unsigned value past int64: per document
            return none
        ok &= _true(pc.is_valid(choices)) & (nulls == 0) & (worded > 0) & (index >= 0) & (index < lengths)
    return ok


def records(cols: ColumnPlan, shard: pa.Table, raws: pa.Array, rows: Mask, first_index: int) -> pa.Table:
    """The normalise table (`SCHEMAS["normalise"]`) of the `rows` of `shard` (its first row is the
    split's document `first_index`)."""
    schema = SCHEMAS["normalise"]
    picked = pa.array(rows)
    n = int(rows.sum())
    positions = np.flatnonzero(rows) + first_index
    # `task:N`, N as str() writes a non-negative int
    seed_ids = pc.binary_join_element_wise(f"{cols.task}:", pa.array(positions).cast(pa.string()), "")
    question = _column(shard, cols.question).filter(picked)  # type: ignore[union-attr]
    nulls = pa.nulls(n, pa.string())
    options, answer_index, answer_text = pa.nulls(n, schema.field("options").type), pa.nulls(n, pa.int32()), nulls
    if cols.answer is not None:
        answer = _column(shard, cols.answer).filter(picked)  # type: ignore[union-attr]
        if cols.choices is not None:
            choices = _column(shard, cols.choices).filter(picked).combine_chunks()  # type: ignore[union-attr]
            options = choices.cast(schema.field("options").type)
            index = _ints(answer)
            starts = np.asarray(options.offsets.to_numpy()[:-1], np.int64)
            answer_text = options.values.take(pa.array(starts + index))
            answer_index = pa.array(index, pa.int32())
        else:
            answer_text = answer.cast(pa.string())  # what str() writes for text and integers
    context = nulls if cols.context is None else _column(shard, cols.context).filter(picked).cast(pa.string())  # type: ignore[union-attr]
    arrays = {
        "seed_id": seed_ids,
        "question": question.cast(pa.string()),
        "options": options,
        "answer_text": answer_text,
        "answer_index": answer_index,
        "answer_aliases": pa.nulls(n, schema.field("answer_aliases").type),
        "context": context,
        "raw": raws.filter(picked).cast(pa.string()),
    }
    return pa.Table.from_arrays([_one_chunk(arrays[f.name]) for f in schema], schema=schema)


def _takes_rows(shard: pa.Table) -> bool:
    """Whether Arrow can pick rows of every column (the other rows are taken out for `_record`);
    it cannot for view types (string_view …), whose rows then all go per document."""
    try:
        shard.slice(0, 0).take(pa.array([], pa.int64()))
    except pa.ArrowNotImplementedError:
        return False
    return True


def _column(shard: pa.Table, name: str) -> pa.ChunkedArray | None:
    return shard.column(name) if name in shard.column_names and shard.column_names.count(name) == 1 else None


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_text_list(t: pa.DataType) -> bool:
    return bool((pa.types.is_list(t) or pa.types.is_large_list(t)) and _is_text(t.value_type))


def _true(mask: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean column as numpy, null read as False."""
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), np.bool_)


def _ints(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    return np.asarray(values.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
