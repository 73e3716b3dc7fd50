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
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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
JOINED_CHARS = 30
"""A field of fewer words is still compared (without its spaces) when it is this long: an eval
question written `WhichPlanetIs…` or without spaces is one word."""
QUESTION_WORDS = 8
"""A text of this many words that equals an eval text is an eval row even where many seed rows share it."""
MAIN_TEXT_SHARE = 0.8
"""A shorter eval text that a seed text matches is that record's identity only when it has at least
this share of the letters of the record's longest text (letters: a joined or camelCase copy has one
word): logiqa's "Which must be true?" is not its record (the passage is), a triviaqa question is."""
CONFIRM_SHARE = 0.5
"""A short eval text matched: the row is that eval row when at least this share of the row's other
content words are the record's too (its answer, its options, its passage)."""
_NON_WORD = re.compile(r"[\W_]+")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S*$", re.IGNORECASE)


def _shared_bound(total: int) -> int:
    """More records than this share a value: boilerplate."""
    return max(2, int(0.01 * total))


def _boilerplate(counts: Counter[str], total: int) -> set[str]:
    """Values shared by many records (a source URL, a fixed instruction): not a row's identity."""
    bound = _shared_bound(total)
    return {v for v, n in counts.items() if n > bound}


# Default-ignorable code points that are not format characters (names.fold drops those): the
# Hangul fillers, the combining grapheme joiner, variation selectors, Mongolian selectors, tags.
_BLANK = re.compile("[\u115f\u1160\u3164\uffa0]")  # Hangul fillers: letters that print as a space
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufe00-\ufe0f\ufeff\U000e0000-\U000e0fff]"
)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2}))")


def _unescape(m: re.Match[str]) -> str:
    code = int(m.group(1) or m.group(2), 16)
    return " " if 0xD800 <= code <= 0xDFFF else chr(code)


def canonical(text: str) -> str:
    """The text as a reader sees it: HTML entities (`&nbsp;`) and %-escapes (`%20`) decoded,
    default-ignorable characters (U+3164, U+034F, zero-width …) dropped, names.fold (NFKC, marks,
    look-alike letters)."""
    for _ in range(3):  # `&amp;nbsp;`, `%2520`: decoded as often as a browser or a URL parser would
        before = text
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)
        if "%" in text and _PERCENT.search(text):
            text = unquote(text)
        if "\\" in text and _ESCAPE.search(text):  # `\u0020`, `\x20`: JSON/Python escapes left literal
            text = _ESCAPE.sub(_unescape, text)
        if text == before:
            break
    if text.isascii():  # no ignorable or blank code point, nothing to fold: most texts
        return text
    return fold(_IGNORABLE.sub("", _BLANK.sub(" ", text)))


def normal_text(text: str) -> str:
    """Canonical (see `canonical`), lower-case words joined by single spaces, a word repeated
    right after itself counted once ("the the", a doubled-word disguise).

    >>> normal_text("  What&nbsp;is  is 2+2?\\n")
    'what is 2 2'
    """
    known = _NORMALISED.get(text)
    if known is not None:
        return known
    words = _NON_WORD.sub(" ", canonical(text).casefold()).split()
    norm = " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1] or len(w) == 1)
    if len(text) <= _REMEMBERED_CHARS:  # options, labels, keys: the same few texts on many rows
        if len(_NORMALISED) >= _REMEMBERED:
            _NORMALISED.clear()
        _NORMALISED[text] = norm
    return norm


_NORMALISED: dict[str, str] = {}
_REMEMBERED, _REMEMBERED_CHARS = 65_536, 48


def squashed(norm: str) -> str:
    """A normalised text without its spaces: equal for "t h e  q u e s t i o n" and "the question"."""
    return norm.replace(" ", "")


def record_text(value: Any) -> str:
    """Every string value of a record (nested ones too), joined: the text that eval records are
    stored as. Keys are left out here (field names shared by every record would be 13-grams
    shared by every record); text_fields compares the keys that are texts."""
    return " ".join(_strings(value, keys=False))


def _strings(value: Any, *, keys: bool = True) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:  # no recursion: a record may be nested deep
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            items = [(k, x) for k, x in v.items() if k != WHERE_COLUMN]
            for k, x in reversed(items):
                stack.append(x)
                if keys and isinstance(k, str):
                    stack.append(k)
        elif isinstance(v, list | tuple):
            stack.extend(reversed(v))
    return out


def text_fields(row: Any, *, keys: bool = True) -> list[str]:
    """Every string of the row (nested ones and dict keys too) of MIN_FIELD_WORDS words or
    more, normalised (not URLs): an eval question inside a list or as a key is still one."""
    out = []
    for value in _strings(row, keys=keys):
        if not _URL.match(value.strip()):
            norm = normal_text(value)
            if norm.count(" ") + 1 >= MIN_FIELD_WORDS or len(norm) >= JOINED_CHARS:
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
            [text_fields(r, keys=False) for r in rows],
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


CHECK_BATCH_ROWS = 20_000
"""Rows compared at a time: a split of 500,000 rows as Python dicts would take over a gigabyte."""


RenderRows = Callable[[pa.Table, int], Sequence[Sequence[str]] | None]
"""Per row of a batch (and the position of its first row in the table), the texts a spec's
templates render from it (None: they cannot be mapped back to the rows): called batch by batch,
so a large split is never rendered whole in memory."""


def check_rows(
    table: pa.Table,
    evals: Sequence[EvalRecords],
    rendered: Sequence[Sequence[str]] | RenderRows | None = None,
) -> ContentReport:
    """Which rows of `table` are eval rows (see the module doc). `rendered`: per row, the texts
    its spec's templates render from it (the question, question + options + answer), compared
    like its own fields: what a template builds from several columns is what the model sees;
    given as the texts of every row or as a function rendering a batch of rows (`RenderRows`).
    Two passes over batches of CHECK_BATCH_ROWS rows: the values shared by many rows (boilerplate,
    counted over the whole table in Arrow), then the comparison, batch by batch."""
    sources = [e.source for e in evals]
    evals = [e for e in evals if e.ids]
    if not evals or table.num_rows == 0:
        return ContentReport(table.num_rows, [], sources)
    if rendered is not None and not callable(rendered) and len(rendered) != table.num_rows:
        raise ValueError(f"rendered texts for {len(rendered)} rows, the table has {table.num_rows}")
    if callable(rendered) and table.num_rows <= CHECK_BATCH_ROWS:
        rendered = _built(rendered, table, 0)  # one batch: rendered once for both passes
    lookup = _eval_lookup(tuple(evals))
    common = _common_values(table, rendered)
    found: list[RowMatch] = []
    for start, batch in _batches(table):
        found += _check_batch(batch.to_pylist(), start, _built(rendered, batch, start), lookup, common)
    return ContentReport(table.num_rows, found, sources)


def _batches(table: pa.Table) -> Iterable[tuple[int, pa.Table]]:
    for start in range(0, table.num_rows, CHECK_BATCH_ROWS):
        yield start, table.slice(start, CHECK_BATCH_ROWS)


def _built(
    rendered: Sequence[Sequence[str]] | RenderRows | None, batch: pa.Table, start: int
) -> Sequence[Sequence[str]] | None:
    """The rendered texts of `batch` (the rows from `start`)."""
    if rendered is None:
        return None
    if callable(rendered):
        built = rendered(batch, start)
        if built is not None and len(built) != batch.num_rows:
            raise ValueError(f"rendered texts for {len(built)} rows, the batch has {batch.num_rows}")
        return built
    return rendered[start : start + batch.num_rows]


def _fields(rows: list[dict[str, Any]], rendered: Sequence[Sequence[str]] | None) -> list[list[str]]:
    row_fields = [text_fields(r) for r in rows]
    if rendered is not None:
        for fields, extra in zip(row_fields, rendered, strict=True):
            seen = set(fields)  # a plain `{{ question }}` renders the field itself: compared once
            for n in map(normal_text, extra):
                if n not in seen and (n.count(" ") + 1 >= MIN_FIELD_WORDS or len(n) >= JOINED_CHARS):
                    seen.add(n)
                    fields.append(n)
    return row_fields


class _Common:
    """The values many rows share (`_boilerplate`), held as the 64-bit hashes of their texts: the
    count runs over every row's distinct values, 8 bytes each, where the texts themselves cost
    hundreds of MB at 500,000 rows. Python's string hash is keyed per process (SipHash), so no
    input can be built to collide; by chance, two of a split's values share a hash once in ~10^10
    splits, and a value taken for shared only loses the word-bag and short-text matches."""

    def __init__(self, hashes: set[int]) -> None:
        self.hashes = hashes

    def __contains__(self, value: object) -> bool:
        return hash(value) in self.hashes


def _common_values(table: pa.Table, rendered: Sequence[Sequence[str]] | RenderRows | None) -> _Common:
    """`_boilerplate` over every row: each row's distinct field values, counted by their hashes."""
    import numpy as np

    chunks = []
    for start, batch in _batches(table):
        fields = _fields(batch.to_pylist(), _built(rendered, batch, start))
        chunks.append(np.fromiter((hash(v) for fs in fields for v in set(fs)), np.int64))
    hashes, counts = np.unique(np.concatenate(chunks) if chunks else np.empty(0, np.int64), return_counts=True)
    return _Common(set(hashes[counts > _shared_bound(table.num_rows)].tolist()))


def _check_batch(
    rows: list[dict[str, Any]],
    offset: int,
    rendered: Sequence[Sequence[str]] | None,
    lookup: _Lookup,
    common: _Common,
) -> list[RowMatch]:
    where = [r.get(WHERE_COLUMN) or f"row {offset + i + 1}" for i, r in enumerate(rows)]
    texts = [record_text(r) for r in rows]
    row_fields = _fields(rows, rendered)
    found: dict[int, RowMatch] = {}
    for i, (fields, text) in enumerate(zip(row_fields, texts, strict=True)):
        norm = normal_text(text)
        hit = lookup.exact_texts.get(norm) or lookup.squashed_texts.get(squashed(norm)) if norm else None
        if hit:
            found[i] = RowMatch(offset + i, where[i], "question + answer", hit)
            continue
        for value in fields:
            hit = lookup.exact_fields.get(value) or lookup.squashed_fields.get(squashed(value))
            hit = hit or lookup.folded_fields.get(folded(value)) or lookup.squashed_fields.get(squashed(value)[::-1])
            # A question-length eval text is the eval row wherever it stands; a shorter one (a
            # generic question, a shared instruction) only as its record's main text or beside
            # the record's own answer, options or passage (`confirms`).
            long_enough = hit is not None and lookup.eval_words(hit, value) >= QUESTION_WORDS
            if hit and (long_enough or lookup.confirms(hit, value, fields, texts[i])):
                found[i] = RowMatch(offset + i, where[i], "question", hit)
                break
    rest = [i for i in range(len(rows)) if i not in found and texts[i].strip()]
    if rest:
        built: Sequence[Sequence[str]] = rendered if rendered is not None else [[] for _ in rows]
        normed = [" ".join([normal_text(texts[i]), *map(normal_text, built[i])]) for i in rest]
        for j, shared, share, hit in _containment(normed, lookup.texts, lookup.ids):
            if share >= CONTAINMENT or shared >= MIN_SHARED_GRAMS:
                how = f"13-gram containment {share:.0%} ({shared} shared 13-grams)"
                found[rest[j]] = RowMatch(offset + rest[j], where[rest[j]], how, hit)
    for i in range(len(rows)):
        if i in found:
            continue
        for value in row_fields[i]:
            # A value many rows share (an instruction, a source line) is not a row's identity, unless
            # what it matches is an eval record's main text: a disguised eval question copied into
            # a few rows is still that eval row, however often it is repeated.
            shared = value in common
            if (bag := lookup.bags.match(value)) is not None and (not shared or lookup.is_main_text(bag[0], value)):
                eval_id, share = bag
                found[i] = RowMatch(
                    offset + i, where[i], f"word containment {share:.0%} (reordered, padded or cut)", eval_id
                )
                break
            short = lookup.short.match(value)
            if (
                short is not None
                and (not shared or lookup.is_main_text(short[1], short[2]))
                and lookup.confirms(short[1], short[2], row_fields[i], texts[i])
            ):
                found[i] = RowMatch(offset + i, where[i], short[0], short[1])
                break
    return [found[i] for i in sorted(found)]


@dataclass(frozen=True)
class _Lookup:
    exact_fields: dict[str, str]
    squashed_fields: dict[str, str]
    exact_texts: dict[str, str]
    squashed_texts: dict[str, str]
    ids: list[str]
    texts: list[str]  # normalised, for the 13-gram index
    bags: _Bags
    folded_fields: dict[str, str]  # folded(): no spaces, digits read as letters, plural `s` dropped
    short: _ShortTexts
    record_fields: dict[str, frozenset[str]]  # eval id → its normalised text fields
    longest_chars: dict[str, int]  # eval id → letters of its longest text field, spaces left out
    position: dict[str, int]  # eval id → its index in ids/texts

    def is_main_text(self, eval_id: str, matched: str) -> bool:
        """`matched` is (about) the longest text field of eval record `eval_id`: its question, not a
        line it shares with other records."""
        return len(squashed(matched)) >= MAIN_TEXT_SHARE * self.longest_chars.get(eval_id, 0)

    def confirms(self, eval_id: str, matched: str, row_fields: Sequence[str], row_text: str) -> bool:
        """A seed text matched a short text of `eval_id`: the row is that eval row when the matched
        text is the record's main text, or the rest of the row adds little the record lacks (a short
        answer, the record's own options or passage, near copies of them). A generic question
        ("Which must be true?") over a different passage is not the eval row."""
        if self.is_main_text(eval_id, matched):
            return True
        rest = _content_words(normal_text(" ".join([row_text, *row_fields]))) - _content_words(matched)
        if len(rest) <= 1:
            return True
        record = _content_words(self.texts[self.position[eval_id]]) if eval_id in self.position else frozenset()
        return len(rest & record) >= CONFIRM_SHARE * len(rest)

    def eval_words(self, eval_id: str, value: str) -> int:
        """Words of the eval text `value` matched (a joined copy has one word, its eval text many)."""
        keys = {squashed(value), squashed(value)[::-1]}
        words = [
            f.count(" ") + 1
            for f in self.record_fields.get(eval_id, ())
            if squashed(f) in keys or folded(f) == folded(value)
        ]
        return max([value.count(" ") + 1, *words])


@lru_cache(maxsize=4)
def _eval_lookup(evals: tuple[EvalRecords, ...]) -> _Lookup:
    exact_fields: dict[str, str] = {}
    exact_texts: dict[str, str] = {}
    ids: list[str] = []
    texts: list[str] = []
    counts: Counter[str] = Counter()
    record_fields: dict[str, frozenset[str]] = {}
    longest_chars: dict[str, int] = {}
    for records in evals:
        for rid, text, fields in zip(
            records.ids, records.texts, records.fields or [[]] * len(records.ids), strict=True
        ):
            norm = normal_text(text)
            if norm:
                exact_texts.setdefault(norm, rid)
            normed = frozenset(normal_text(f) for f in fields)  # stored by an older tsqa: normalised again
            for value in normed:
                exact_fields.setdefault(value, rid)
                counts[value] += 1
            record_fields[rid] = normed
            longest_chars[rid] = max((len(squashed(v)) for v in normed), default=0)
            ids.append(rid)
            texts.append(norm)
    for value in _boilerplate(counts, len(ids)):
        del exact_fields[value]
    bag_texts = [(rid, value) for value, rid in exact_fields.items()]
    bag_texts += [(rid, norm) for norm, rid in exact_texts.items() if norm.count(" ") < 200]
    return _Lookup(
        exact_fields,
        {squashed(v): rid for v, rid in exact_fields.items() if len(squashed(v)) >= 20},
        exact_texts,
        {squashed(v): rid for v, rid in exact_texts.items() if len(squashed(v)) >= 20},
        ids,
        texts,
        _Bags(bag_texts),
        {k: rid for v, rid in exact_fields.items() if len(k := folded(v)) >= 20},
        _ShortTexts(exact_fields),
        record_fields,
        longest_chars,
        {rid: i for i, rid in enumerate(ids)},
    )


BAG_CONTAINMENT = 0.9
"""Share of the shorter text's distinct content words found in the other, from which a seed text
counts as an eval text reordered, padded with filler words or cut short."""
BAG_MIN_WORDS = 6
"""Distinct content words the shorter text needs (fewer say too little to call it a copy)."""
BAG_MAX_RATIO = 3.0
"""The longer text has at most this many times the shorter's words (a passage that merely
mentions a question's words is not a copy of it)."""
_POSTINGS_CAP = 500
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "about",
        "into",
        "over",
        "under",
        "up",
        "down",
        "out",
        "also",
        "just",
        "very",
        "only",
        "some",
        "any",
        "all",
        "each",
    ]
)


BAG_PARAPHRASE = 0.75
BAG_PARAPHRASE_WORDS = 10
"""A text of this many content words or more, at most 1.5 times the other's, counts as a
paraphrase of it from this share of shared content words (three words of twelve swapped for
synonyms). Paraphrases that change more words are not caught."""
_LEET = str.maketrans("013457@$", "oieastas")


def folded(norm: str) -> str:
    """`squashed`, digits inside words read as the letters they stand for (`pl4n3t`), a plural
    `s` dropped from every word: equal for a text and its leetspeak, plural or joined copy."""
    return "".join(map(_folded_word, norm.split()))


@lru_cache(maxsize=1 << 18)
def _folded_word(word: str) -> str:
    return _stem(word if word.isdigit() else word.translate(_LEET))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _content_words(norm: str) -> frozenset[str]:
    """Content words, each as its sorted letters (leetspeak read, plural dropped): a word with two
    letters swapped, written backwards or in leetspeak is the same word."""
    return frozenset(sig for w in norm.split() if (sig := _signature(w)))


@lru_cache(maxsize=1 << 18)
def _signature(word: str) -> str:
    """A content word's sorted letters ("" for a stop word or a single letter)."""
    word = word if word.isdigit() else word.translate(_LEET)
    if word in _STOPWORDS or len(word) < 2:
        return ""
    return "".join(sorted(_stem(word)))


class _Bags:
    """Distinct content words of every eval text, with an inverted index to find candidates."""

    def __init__(self, texts: list[tuple[str, str]]) -> None:
        self.ids: list[str] = []
        self.bags: list[frozenset[str]] = []
        self.postings: dict[str, list[int]] = {}
        for rid, norm in texts:
            bag = _content_words(norm)
            if len(bag) < BAG_MIN_WORDS:
                continue
            n = len(self.bags)
            self.ids.append(rid)
            self.bags.append(bag)
            for word in bag:
                self.postings.setdefault(word, []).append(n)

    def match(self, norm: str) -> tuple[str, float] | None:
        """(eval id, containment) of the eval text `norm` is a disguised copy of, or None."""
        bag = _content_words(norm)
        if len(bag) < BAG_MIN_WORDS:
            return None
        keyed = sorted((len(p), w) for w in bag if (p := self.postings.get(w)))
        candidates: set[int] = set()
        for df, word in keyed[:8]:  # its rarest words: a copy shares them with its source
            if df <= _POSTINGS_CAP:
                candidates.update(self.postings[word])
        best: tuple[str, float] | None = None
        for n in candidates:
            other = self.bags[n]
            small, large = sorted((len(bag), len(other)))
            if large > BAG_MAX_RATIO * small:
                continue
            share = len(bag & other) / small
            paraphrase = small >= BAG_PARAPHRASE_WORDS and large <= 1.5 * small and share >= BAG_PARAPHRASE
            if (share >= BAG_CONTAINMENT or paraphrase) and (best is None or share > best[1]):
                best = (self.ids[n], share)
        return best


SHORT_MIN_WORDS = 6
SHORT_MIN_CHARS = 30
SHORT_MIN_CONTENT = 3
"""An eval text of at least these words, characters and content words is found whole inside any
seed text (a short question in a passage, behind a `Question:` prefix, two in one row); one of
under 13 words (one 13-gram at most) also one word away (a word swapped, dropped or added)."""


class _ShortTexts:
    """Eval texts found whole (word for word) inside seed texts, or one word away from them."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.by_start: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
        self.near: dict[int, tuple[str, str]] = {}  # hash of a text with one word left out → (eval id, text)
        for value, rid in fields.items():
            words = tuple(value.split())
            if len(words) < SHORT_MIN_WORDS or len(value) < SHORT_MIN_CHARS:
                continue
            if sum(1 for w in set(words) if w not in _STOPWORDS and len(w) > 1) < SHORT_MIN_CONTENT:
                continue
            self.by_start.setdefault(words[:2], []).append((words, rid))
            if len(words) < NGRAM:
                for key in _one_out(words):
                    self.near.setdefault(key, (rid, value))

    def match(self, norm: str) -> tuple[str, str, str] | None:
        """(how, eval id, the eval text) when an eval text is inside `norm` or one word away from it."""
        words = norm.split()
        for i in range(len(words) - 1):
            for candidate, rid in self.by_start.get((words[i], words[i + 1]), ()):
                if tuple(words[i : i + len(candidate)]) == candidate:
                    return "whole eval text inside it", rid, " ".join(candidate)
        if self.near and SHORT_MIN_WORDS - 1 <= len(words) <= NGRAM:
            for key in _one_out(tuple(words)):
                if (near := self.near.get(key)) is not None:
                    return "one word from the eval text", near[0], near[1]
        return None


def _one_out(words: tuple[str, ...]) -> Iterable[int]:
    """Hashes of the text and of it with each word left out: two texts one word apart (swapped,
    dropped or added) share one."""
    yield hash(words)
    for i in range(len(words)):
        yield hash(words[:i] + words[i + 1 :])


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
