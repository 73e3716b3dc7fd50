"""The normalised seed record: one schema for every task, whatever its source looked like."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from tsqa.spec.models.task import Format


@dataclass(frozen=True, slots=True)
class SeedRecord:
    """One seed, normalised. `options` hold option *text* (never bare letters); `answer_text` is
    the semantic answer (for multiple choice the text of option `answer_index`); `answer_aliases`
    lists every accepted answer when the task has several (triviaqa aliases, nq_open)."""

    task: str
    seed_id: str
    format: Format
    question: str
    options: tuple[str, ...] | None
    answer_text: str | None
    answer_index: int | None
    answer_aliases: tuple[str, ...] | None
    context: str | None
    raw: str  # the source document, JSON


@dataclass(frozen=True, slots=True)
class NormaliseFailure:
    """A document that could not be normalised: which one, and why. The others continue."""

    seed_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class NormaliseResult:
    records: list[SeedRecord] = field(default_factory=list)
    failures: list[NormaliseFailure] = field(default_factory=list)
    source_rows: list[int | None] | None = None
    """With `normalise(track_rows=True)` and a process_docs: per document after process_docs (its
    seed id's number, less `first_index`), the input row it came from (None: not known)."""


RECORD_SCHEMA = pa.schema(
    [
        ("task", pa.string()),
        ("seed_id", pa.string()),
        ("format", pa.string()),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("answer_text", pa.string()),
        ("answer_index", pa.int32()),
        ("answer_aliases", pa.list_(pa.string())),
        ("context", pa.string()),
        ("raw", pa.string()),
    ]
)


def records_to_table(records: list[SeedRecord]) -> pa.Table:
    """Records → Arrow (RECORD_SCHEMA), for the stages that write Parquet."""
    names = RECORD_SCHEMA.names
    return pa.table({n: [getattr(r, n) for r in records] for n in names}, schema=RECORD_SCHEMA)
