"""The content check: seed rows that *are* eval rows, whatever their files are called.

Every seed row is compared with every eval record the project can see (EvalSources): the eval
store written by `tsqa seeds fetch-eval`, the spec's `decontaminate.eval_files`, and the eval
splits of the seed's own dataset in the local data dir. A row matches when

- one of its text fields (4 words or more, not a URL, not boilerplate that many rows share),
  normalised (names.fold, case, punctuation, spacing), equals a text field of an eval record
  ("question"),
- all its text, normalised, equals an eval record's ("question + answer"), or
- at least CONTAINMENT of its distinct word 13-grams occur in the eval texts, or at least
  MIN_SHARED_GRAMS of them do (a verbatim span of 17 words or more, however much padding surrounds
  it), by the Rust n-gram index of curate/contamination.py (a text shorter than 13 words is one
  gram of all its words).

Matching rows are refused, each listed with its location and the eval record it matches; when
more than MAX_SHARE of a seed's rows match, the seed is refused as a whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from tsqa.seeds.names import fold
from tsqa.seeds.readers.files import WHERE_COLUMN

NGRAM = 13
CONTAINMENT = 0.5
"""Share of a row's 13-grams found in eval texts from which the row counts as eval data."""
MIN_SHARED_GRAMS = 5
"""Distinct 13-grams shared with eval texts from which a row counts as eval data, whatever its length."""
MAX_SHARE = 0.01
"""More matching rows than this share (or any, for a seed of under 100 rows) refuse the seed."""
MIN_FIELD_WORDS = 4
_NON_WORD = re.compile(r"[\W_]+")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S*$", re.IGNORECASE)


def _boilerplate(counts: Counter[str], total: int) -> set[str]:
    """Values shared by many records (a source URL, a fixed instruction): not a row's identity."""
    bound = max(2, int(0.01 * total))
    return {v for v, n in counts.items() if n > bound}


def normal_text(text: str) -> str:
    """Folded, lower-case words joined by single spaces.

    >>> normal_text("  What is 2+2?\\n")
    'what is 2 2'
    """
    return " ".join(_NON_WORD.sub(" ", fold(text).casefold()).split())


def record_text(value: Any) -> str:
    """Every string of a record (nested ones too), joined: the text that eval records are stored as."""
    return " ".join(_strings(value))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != WHERE_COLUMN for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def text_fields(row: dict[str, Any]) -> list[str]:
    """The row's top-level text fields of MIN_FIELD_WORDS words or more, normalised (not URLs)."""
    out = []
    for key, value in row.items():
        if key != WHERE_COLUMN and isinstance(value, str) and not _URL.match(value.strip()):
            norm = normal_text(value)
            if norm.count(" ") + 1 >= MIN_FIELD_WORDS:
                out.append(norm)
    return out


@dataclass(frozen=True, eq=False)
class EvalRecords:
    """Eval records of one source: ids, texts and the normalised text fields of each."""

    source: str
    ids: list[str]
    texts: list[str]
    fields: list[list[str]] = field(default_factory=list)

    @classmethod
    def from_rows(cls, source: str, rows: Iterable[dict[str, Any]]) -> EvalRecords:
        rows = list(rows)
        return cls(
            source,
            [f"{source} record {i + 1}" for i in range(len(rows))],
            [record_text(r) for r in rows],
            [text_fields(r) for r in rows],
        )


@dataclass(frozen=True)
class RowMatch:
    row: int
    where: str
    how: str  # "question", "question + answer", "13-gram containment 87%"
    eval_id: str

    def line(self) -> str:
        return f"{self.where}: {self.how} of eval record {self.eval_id}"


@dataclass(frozen=True)
class ContentReport:
    rows: int
    matches: list[RowMatch]
    sources: list[str]

    @property
    def refused(self) -> bool:
        """The seed as a whole: more than MAX_SHARE of its rows are eval rows."""
        return bool(self.matches) and len(self.matches) > max(MAX_SHARE * self.rows, 0)

    def summary(self, shown: int = 5) -> str:
        eval_sources = sorted({m.eval_id.rsplit(" record ", 1)[0] for m in self.matches})
        head = f"{len(self.matches)} of {self.rows} seed rows are eval rows (sources: {', '.join(eval_sources)})"
        lines = [m.line() for m in self.matches[:shown]]
        more = len(self.matches) - shown
        return "; ".join([head, *lines]) + (f"; … and {more} more" if more > 0 else "")


def check_rows(table: pa.Table, evals: Sequence[EvalRecords]) -> ContentReport:
    """Which rows of `table` are eval rows (see the module doc)."""
    sources = [e.source for e in evals]
    evals = [e for e in evals if e.ids]
    if not evals or table.num_rows == 0:
        return ContentReport(table.num_rows, [], sources)
    rows = table.to_pylist()
    where = [r.get(WHERE_COLUMN) or f"row {i + 1}" for i, r in enumerate(rows)]
    texts = [record_text(r) for r in rows]
    exact_fields, exact_texts, ids, all_texts = _eval_lookup(tuple(evals))
    row_fields = [text_fields(r) for r in rows]
    common = _boilerplate(Counter(v for fs in row_fields for v in set(fs)), len(rows))
    found: dict[int, RowMatch] = {}
    for i, (fields, text) in enumerate(zip(row_fields, texts, strict=True)):
        norm = normal_text(text)
        if norm and norm in exact_texts:
            found[i] = RowMatch(i, where[i], "question + answer", exact_texts[norm])
            continue
        for value in fields:
            if value in exact_fields and value not in common:
                found[i] = RowMatch(i, where[i], "question", exact_fields[value])
                break
    rest = [i for i in range(len(rows)) if i not in found and texts[i].strip()]
    if rest:
        for i, shared, share, hit in _containment([texts[i] for i in rest], all_texts, ids):
            if share >= CONTAINMENT or shared >= MIN_SHARED_GRAMS:
                how = f"13-gram containment {share:.0%} ({shared} shared 13-grams)"
                found[rest[i]] = RowMatch(rest[i], where[rest[i]], how, hit)
    return ContentReport(table.num_rows, [found[i] for i in sorted(found)], sources)


def _eval_lookup(evals: tuple[EvalRecords, ...]) -> tuple[dict[str, str], dict[str, str], list[str], list[str]]:
    exact_fields: dict[str, str] = {}
    exact_texts: dict[str, str] = {}
    ids: list[str] = []
    texts: list[str] = []
    counts: Counter[str] = Counter()
    for records in evals:
        for rid, text, fields in zip(
            records.ids, records.texts, records.fields or [[]] * len(records.ids), strict=True
        ):
            norm = normal_text(text)
            if norm:
                exact_texts.setdefault(norm, rid)
            for value in set(fields):
                exact_fields.setdefault(value, rid)
                counts[value] += 1
            ids.append(rid)
            texts.append(text)
    for value in _boilerplate(counts, len(ids)):
        del exact_fields[value]
    return exact_fields, exact_texts, ids, texts


def _containment(texts: list[str], eval_texts: list[str], eval_ids: list[str]) -> Iterable[tuple[int, int, float, str]]:
    """(position, distinct 13-grams found in eval texts, their share of the text's, first eval id hit)."""
    from tsqa.curate.contamination import build_contamination_index, contamination

    index = _eval_index(tuple(eval_texts))
    own = build_contamination_index(texts, n=NGRAM)
    totals = contamination(texts, own).count.tolist()  # a text's own distinct grams, all found
    result = contamination(texts, index)
    for i, (count, total, hits) in enumerate(zip(result.count.tolist(), totals, result.ids.to_pylist(), strict=True)):
        if count and total:
            yield i, count, count / total, eval_ids[hits[0]] if hits else "?"


@lru_cache(maxsize=4)
def _eval_index(texts: tuple[str, ...]) -> Any:
    from tsqa.curate.contamination import build_contamination_index

    return build_contamination_index(list(texts), n=NGRAM)


def fingerprint(evals: Sequence[EvalRecords]) -> str:
    """Identifies the eval records a check ran against (a snapshot re-checks when it changes)."""
    h = hashlib.sha256()
    for e in evals:
        h.update(json.dumps([e.source, len(e.ids)]).encode())
        for text in e.texts:
            h.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()[:32]


def eval_store_records(store_root: Path) -> list[EvalRecords]:
    """The eval store's splits (`tsqa seeds fetch-eval`), with their text-field sidecars."""
    from tsqa.seeds.eval_store import EvalStore

    return EvalStore(store_root).records()
