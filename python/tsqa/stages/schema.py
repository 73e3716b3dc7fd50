"""Arrow schemas of every stage table, in one place, so shards of one stage always concatenate and
a stage's reader and writer can never disagree. Seeds keep the source's own columns (no schema)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

_STR, _LIST = pa.string(), pa.list_(pa.string())

QUESTION_FIELDS = [
    ("question_id", _STR),
    ("seed_id", _STR),
    ("question", _STR),
    ("options", _LIST),
    ("answer_index", pa.int32()),
    ("answer_text", _STR),
    ("context", _STR),
]

SCHEMAS: dict[str, pa.Schema] = {
    "normalise": pa.schema(
        [
            ("seed_id", _STR),
            ("question", _STR),
            ("options", _LIST),
            ("answer_text", _STR),
            ("answer_index", pa.int32()),
            ("answer_aliases", _LIST),
            ("context", _STR),
            ("raw", _STR),
        ]
    ),
    "generate": pa.schema(
        [
            ("candidate_id", _STR),
            ("seed_id", _STR),
            ("seed_question", _STR),
            ("n_options", pa.int32()),
            ("text", _STR),
            ("finish_reason", _STR),
            ("error", _STR),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
        ]
    ),
    "parse": pa.schema(QUESTION_FIELDS),
    "solve": pa.schema([*QUESTION_FIELDS, ("samples", _LIST), ("error", _STR)]),
    "verify": pa.schema(
        [*QUESTION_FIELDS, ("winner", _STR), ("votes", pa.int64()), ("total", pa.int64()), ("agreement", pa.float64())]
    ),
    "enrich": pa.schema(
        [
            *QUESTION_FIELDS,
            ("winner", _STR),
            ("votes", pa.int64()),
            ("total", pa.int64()),
            ("agreement", pa.float64()),
            ("variant", _STR),
            ("enrichment", _STR),
        ]
    ),
    "rejects": pa.schema([("id", _STR), ("reason", _STR), ("detail", _STR)]),
}
SCHEMAS["package"] = pa.schema(
    [
        ("id", _STR),
        ("task", _STR),
        ("group", _STR),
        ("format", _STR),
        ("variant", _STR),
        ("seed_id", _STR),
        ("question_id", _STR),
        ("question", _STR),
        ("options", _LIST),
        ("answer_index", pa.int32()),
        ("answer_text", _STR),
        ("context", _STR),
        ("enrichment", _STR),
        ("agreement", pa.float64()),
        ("votes", pa.int64()),
        ("samples", pa.int64()),
        ("text", _STR),
        ("license", _STR),
        ("provenance", pa.dictionary(pa.int32(), _STR)),  # one value per task: stored once per shard
    ]
)
SCHEMAS["dedup"] = SCHEMAS["enrich"]
# Decontamination renders the packaged text to search it; it keeps it for package.
SCHEMAS["decontaminate"] = SCHEMAS["enrich"].append(pa.field("text", _STR))


REJECTS = SCHEMAS["rejects"]


def to_table(stage: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = SCHEMAS[stage]
    # Column by column (one list per field), not a dict per row: half the time of from_pylist.
    return pa.Table.from_arrays([pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns, in order and type (missing columns are null)."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def rejects_table(rows: list[dict[str, Any]]) -> pa.Table:
    return to_table("rejects", rows)


def rejects_from(ids: Any, reasons: Any, details: Any) -> pa.Table:
    """A rejects table from three columns (Arrow arrays or Python sequences)."""
    return pa.Table.from_arrays(
        [pa.array(ids, pa.string()), pa.array(reasons, pa.string()), pa.array(details, pa.string())], schema=REJECTS
    )
