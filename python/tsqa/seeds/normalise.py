"""Seed documents → SeedRecords, following the spec's `fields` or else the lm-eval task's rules.

    setup (once per spec): process_docs, field rules compiled (templates once), functions imported
    per document:          question / choices / answer / context evaluated → letters mapped back
                           to text → multiple-input tasks turned around → fixed gold positions
                           shuffled → checked against the format

A document that fails becomes a NormaliseFailure (its id and reason, the reason naming the
document's file and line when the reader recorded it); the rest continue. A document whose
question or answer reads a null (or NaN) field fails with that reason instead of rendering "None".
Template renders are bounded (spec/templates.py): one that runs over a bound fails its document
only. A problem of the spec or task itself (a template that does not compile, a function that cannot be
imported) raises SeedError: no document could succeed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tsqa.seeds.errors import SeedError
from tsqa.seeds.functions import import_function
from tsqa.seeds.letters import letters_of, option_texts
from tsqa.seeds.model import TaskInfo
from tsqa.seeds.readers.files import WHERE_COLUMN
from tsqa.seeds.record import NormaliseFailure, NormaliseResult, SeedRecord
from tsqa.seeds.rules import FieldRule, compile_rule
from tsqa.spec.models import LmEvalSeed, TaskSpec
from tsqa.spec.templates import RenderLimitError

Doc = Mapping[str, Any]
# Columns a files/hf seed is read from when the spec maps no fields.
DEFAULT_COLUMNS = {"question": "question", "choices": "choices", "answer": "answer", "context": "context"}


class DocError(Exception):
    """One document's failure reason; `bounded`: a template render went over its bounds."""

    def __init__(self, message: str, *, bounded: bool = False) -> None:
        super().__init__(message)
        self.bounded = bounded


# After this many documents in a row fail on a render bound, before any succeeds, the template is
# taken to fail on every document: the rest fail with that reason without being rendered, so a
# template that always runs to its deadline costs seconds, not a second per record.
BOUNDED_FAILURES_TO_STOP = 3


@dataclass(frozen=True, slots=True)
class _Plan:
    question: FieldRule
    choices: FieldRule | None
    answer: FieldRule | None
    context: FieldRule | None
    delimiter: str
    letter_only: bool
    shuffle: bool  # the gold position is fixed by the task (sciq): shuffle options per seed
    # (origin, sorted columns) of question, answer and choices: what `_null_fields` checks per document
    null_checks: tuple[tuple[str, tuple[str, ...]], ...] = ()


def normalise(
    spec: TaskSpec,
    task_info: TaskInfo | None,
    docs: pa.Table | Iterable[Doc],
    *,
    first_index: int = 0,
    give_up_bounded: bool = True,
    track_rows: bool = False,
) -> NormaliseResult:
    """Normalise the seed documents of one spec (see module doc). `first_index`: the position of
    the first document in its split (its seed id; a per-seed option shuffle depends on it).
    `give_up_bounded`: stop rendering once the first documents all went over the render bounds
    (a template that fails on every document); the content check renders every document.
    `track_rows`: carry each input row's position through process_docs (`source_rows`), so the
    content check can name the row a document came from when process_docs drops, adds or
    reorders documents."""
    rows = docs.to_pylist() if isinstance(docs, pa.Table) else list(docs)
    where = [row.get(WHERE_COLUMN) for row in rows]
    if any(w is not None for w in where):
        rows = [{k: v for k, v in row.items() if k != WHERE_COLUMN} for row in rows]
    lm_rules = task_info.rules if isinstance(spec.seed, LmEvalSeed) and task_info is not None else None
    source_rows: list[int | None] | None = None
    if lm_rules is not None and lm_rules.process_docs:
        if track_rows:
            rows = [{**row, _ROW_KEY: i} for i, row in enumerate(rows)]
        rows = _process_docs(lm_rules.process_docs, rows)
        if track_rows:
            source_rows = [_source_row(row) for row in rows]
        if len(rows) != len(where):  # process_docs may drop documents: positions no longer map
            where = [None] * len(rows)
    if not rows:
        return NormaliseResult(source_rows=source_rows)
    plan = _plan(spec, task_info if lm_rules is not None else None, frozenset(rows[0]))
    result = NormaliseResult(source_rows=source_rows)
    bounded: str | None = None  # the reason, once the template is known to fail on every document
    for i, doc in enumerate(rows):
        seed_id = f"{spec.task}:{first_index + i}"
        if bounded is not None:
            result.failures.append(NormaliseFailure(seed_id, _at(where[i], f"not rendered: {bounded}")))
            continue
        try:
            result.records.append(_record(spec, plan, seed_id, doc))
        except DocError as err:
            result.failures.append(NormaliseFailure(seed_id, _at(where[i], str(err))))
            stop = give_up_bounded and not result.records and len(result.failures) >= BOUNDED_FAILURES_TO_STOP
            if err.bounded and stop:
                bounded = f"the template went over its render bounds on the first {len(result.failures)} documents"
        except Exception as err:  # noqa: BLE001 - a task function or template failing on one doc
            result.failures.append(NormaliseFailure(seed_id, _at(where[i], f"{type(err).__name__}: {err}")))
    return result


def _at(where: str | None, reason: str) -> str:
    return f"{where}: {reason}" if where else reason


def _null_fields(plan: _Plan, doc: Doc) -> None:
    for origin, columns in plan.null_checks:
        for col in columns:
            value = doc.get(col, _ABSENT)  # missing: the template says so, naming the variable
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise DocError(f"{origin}: field {col!r} is {'null' if value is None else 'NaN'}")


_ABSENT = object()


_ROW_KEY = "__tsqa_source_row__"


def _source_row(row: Any) -> int | None:
    """The input position a document after process_docs came from (the key removed)."""
    if not isinstance(row, dict):
        return None
    value = row.pop(_ROW_KEY, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _process_docs(ref: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply a task's `process_docs` (a function over a `datasets.Dataset`), as lm-eval does.

    Most of them only call `dataset.map(per_row_fn)`; for those a plain row list stands in
    for the Dataset (about 10x faster than datasets' per-row Arrow formatting). Anything else
    (batched maps, filter, column ops …) runs on a real Dataset.
    """
    fn = import_function(ref)
    try:
        processed = fn(_RowMap(rows))
        if isinstance(processed, _RowMap):
            return processed.rows
    except Exception:  # noqa: BLE001, S110 - the shim did not suffice: use the real thing below
        pass
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        return list(fn(datasets.Dataset.from_list(rows)).to_list())
    except Exception as err:  # noqa: BLE001 - task code
        raise SeedError(f"process_docs {ref.rsplit(maxsplit=1)[-1]} failed: {type(err).__name__}: {err}") from None
    finally:
        if enabled:
            datasets.enable_progress_bars()


class _NeedsDataset(Exception):
    pass


class _RowMap:
    """Stands in for a `datasets.Dataset` that process_docs only maps row by row.

    `map(fn)` merges fn's dict into each row, as `Dataset.map` does; any other use raises,
    and `_process_docs` falls back to a real Dataset.
    """

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def map(self, function: Any, *args: Any, **kwargs: Any) -> _RowMap:
        if args or kwargs:
            raise _NeedsDataset
        return _RowMap([{**row, **(function(dict(row)) or {})} for row in self.rows])

    def __getattr__(self, name: str) -> Any:
        raise _NeedsDataset(name)


def _plan(spec: TaskSpec, info: TaskInfo | None, features: frozenset[str]) -> _Plan:
    rules = info.rules if info is not None else None
    # Perplexity tasks (wikitext, c4) have no prompt: the document (their target) is the text.
    rolling = info is not None and info.output_type == "loglikelihood_rolling"
    lm_keys = {
        "question": "doc_to_target" if rolling else "doc_to_text",
        "choices": "doc_to_choice",
        "answer": None if rolling else "doc_to_target",
        "context": None,
    }

    def pick(name: str) -> tuple[Any, str] | None:
        """The spec's template, else the task's rule, else (files/hf) the same-named column."""
        own = getattr(spec.fields, name)
        if own is not None:
            return own, f"fields.{name}"
        if rules is not None:
            key = lm_keys[name]
            value = getattr(rules, key) if key else None
            return None if value is None else (value, f"lm-eval {key}")
        column = DEFAULT_COLUMNS[name]
        return (column, f"column {column!r}") if column in features else None

    q, a, x = pick("question"), pick("answer"), pick("context")
    c = pick("choices") if spec.format == "multiple_choice" or rules is not None else None
    if q is None:
        raise SeedError(
            f"task {spec.task!r}: no question field: map one in `fields.question` (columns: {', '.join(sorted(features))})"
        )
    has_choices = c is not None

    def build(entry: tuple[Any, str] | None, kind: Any) -> FieldRule | None:
        if entry is None:
            return None
        try:
            return compile_rule(
                entry[0],
                kind,
                origin=entry[1],
                features=features,
                has_choices=has_choices,
                from_spec=not entry[1].startswith("lm-eval "),
            )
        except SeedError as err:
            raise type(err)(f"task {spec.task!r}: {err}") from None

    answer = build(a, "target")
    question, choices = build(q, "text"), build(c, "choice")
    checked = (question, answer, choices)
    return _Plan(
        question=question,  # type: ignore[arg-type]
        choices=choices,
        answer=answer,
        context=build(x, "plain"),
        delimiter=rules.target_delimiter if rules else " ",
        letter_only=bool(info and info.letter_only_choices),
        shuffle=has_choices and answer is not None and answer.constant,
        null_checks=tuple((r.origin, tuple(sorted(r.columns))) for r in checked if r is not None),
    )


def _record(spec: TaskSpec, plan: _Plan, seed_id: str, doc: Doc, *, raw: str | None = None) -> SeedRecord:
    """One document's record; `raw`: its JSON text when the caller has it (the Rust core writes
    a shard's at once, `stages/normalise._raw_texts`)."""
    _null_fields(plan, doc)
    text = _evaluate(plan.question, doc)
    choices = _choices(_evaluate(plan.choices, doc)) if plan.choices is not None else None
    target = _evaluate(plan.answer, doc) if plan.answer is not None else None
    options: list[str] | None
    index: int | None
    aliases: list[str] | None
    if choices is not None and isinstance(text, int):
        question, options, index = _multiple_input(text, choices, target, plan.delimiter)
        aliases = None
    else:
        if not isinstance(text, str):
            raise DocError(f"question: expected text, found {type(text).__name__}")
        question = text
        options, index, aliases = _answer(plan, doc, question, choices, target)
    if options is not None and plan.shuffle and index is not None:
        options, index = _shuffle(options, index, seed_id)
    answer_text = options[index] if options is not None and index is not None else _scalar_text(target, aliases)
    if spec.format == "multiple_choice" and (options is None or index is None):
        raise DocError("multiple_choice format needs choices and an answer index")
    if not question.strip():
        raise DocError("question is empty")
    context = _evaluate(plan.context, doc) if plan.context is not None else None
    return SeedRecord(
        task=spec.task,
        seed_id=seed_id,
        format=spec.format,
        question=question,
        options=tuple(options) if options is not None else None,
        answer_text=answer_text,
        answer_index=index,
        answer_aliases=tuple(aliases) if aliases else None,
        context=None if context is None else str(context),
        raw=raw if raw is not None else json.dumps(doc, ensure_ascii=False, default=str),
    )


def _evaluate(rule: FieldRule, doc: Doc) -> Any:
    try:
        return rule.evaluate(doc)
    except Exception as err:  # noqa: BLE001 - templates and task functions fail in many ways
        raise DocError(
            f"{rule.origin}: {type(err).__name__}: {err}", bounded=isinstance(err, RenderLimitError)
        ) from None


def _choices(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise DocError(f"choices: expected a list, found {type(value).__name__}")
    return [str(c) for c in value]


def _answer(
    plan: _Plan, doc: Doc, question: str, choices: list[str] | None, target: Any
) -> tuple[list[str] | None, int | None, list[str] | None]:
    """(options as text, gold index, aliases) from lm-eval-style choices and target."""
    if choices is None:
        if isinstance(target, (list, tuple)):
            aliases = [str(t) for t in target]
            if not aliases:
                raise DocError("answer: empty list of answers")
            return None, None, aliases
        return None, None, None
    options = choices
    letters = letters_of(choices)
    if letters is not None:
        texts = option_texts(doc, letters, question)
        if texts is not None:
            options = texts
        elif plan.letter_only:
            raise DocError(f"letter-only choices {choices}: cannot find the option texts in the document or prompt")
    if isinstance(target, (list, tuple)):  # several correct choices: the first is the answer
        indices = [_index(t, choices, options) for t in target]
        return options, indices[0], [options[i] for i in indices]
    return options, _index(target, choices, options), None


def _index(target: Any, choices: Sequence[str], options: Sequence[str]) -> int:
    if isinstance(target, bool):
        target = int(target)
    if isinstance(target, int):
        if not 0 <= target < len(choices):
            raise DocError(f"answer index {target} out of range for {len(choices)} choices")
        return target
    if isinstance(target, str):
        for candidates in (choices, options):
            if target in candidates:
                return list(candidates).index(target)
        stripped = target.strip()
        for candidates in (choices, options):
            for i, c in enumerate(candidates):
                if c.strip() == stripped:
                    return i
        raise DocError(f"answer {target!r} is not one of the choices {list(choices)}")
    raise DocError(f"answer: expected an index or a choice, found {type(target).__name__}")


def _multiple_input(gold: int, contexts: list[str], continuation: Any, delimiter: str) -> tuple[str, list[str], int]:
    """lm-eval's multiple-input mode (winogrande): the choices are partial contexts that share
    a prefix, the target is the shared continuation, the text is the gold index. Turned
    around into a question with a blank and the options that fill it."""
    if not 0 <= gold < len(contexts):
        raise DocError(f"gold index {gold} out of range for {len(contexts)} contexts")
    prefix = _common_prefix(contexts)
    options = [c[len(prefix) :].strip() for c in contexts]
    if not all(options):
        raise DocError("multiple-input contexts do not differ after their shared prefix")
    tail = str(continuation) if continuation is not None else ""
    return f"{prefix}___{delimiter if tail else ''}{tail}", options, gold


def _common_prefix(texts: list[str]) -> str:
    """Longest shared prefix, cut back to a word boundary so options stay whole words."""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and n < len(last) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    if n < len(first) and not prefix.endswith(" "):
        cut = prefix.rfind(" ")
        prefix = prefix[: cut + 1] if cut >= 0 else ""
    return prefix


def _shuffle(options: list[str], index: int, seed_id: str) -> tuple[list[str], int]:
    """Fisher-Yates driven by a hash of the seed id: the same id always gives the same order
    (reruns agree), and it costs a hash instead of seeding a Mersenne Twister per record."""
    digest = int.from_bytes(hashlib.blake2b(seed_id.encode(), digest_size=16).digest(), "big")
    order = list(range(len(options)))
    for i in range(len(order) - 1, 0, -1):
        digest, j = divmod(digest, i + 1)
        order[i], order[j] = order[j], order[i]
    return [options[i] for i in order], order.index(index)


def _scalar_text(target: Any, aliases: list[str] | None) -> str | None:
    if aliases:
        return aliases[0]
    return None if target is None else str(target)
