"""Built-in prompt templates and the variables each stage hands to its prompt.

Templates are Jinja files beside this module, one per stage and variant, covering every answer
format through `format`. A spec may replace any of them by name, file or inline text; lint checks
that a replacement only uses the variables its stage provides.

A rendered template is a chat: lines `<|tsqa:user|>`, `<|tsqa:assistant|>` or `<|tsqa:system|>`
start a turn (`split_turns`), so a prompt can give the model a worked example as an earlier
exchange, which small models follow far better than a described format and large ones still
benefit from. Text without such lines is one user turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tsqa.spec.template_shapes import Shape

PromptStage = Literal["generate", "enrich", "solve"]

_RECORD = frozenset({"task", "description", "format", "question", "choices", "context"})

STAGE_VARIABLES: dict[PromptStage, frozenset[str]] = {
    # The seed record, with its answer, and how many new questions to write; `example` (another
    # training record of the task, see `worked_example`) and `example_json` (it as the generator's
    # JSON reply) when the task has one, for a worked example.
    "generate": _RECORD | {"answer", "answer_text", "per_seed", "group", "example", "example_json"},
    # A generated question with its answer, and the variant being written.
    "enrich": _RECORD | {"answer", "answer_text", "variant"},
    # Solving must not see the answer: it is what the vote checks. The example is another record;
    # `answer_by` (`letter` or `text`, from verify) is how a multiple-choice reply names its option.
    "solve": _RECORD | {"example", "answer_by"},
}

Role = Literal["system", "user", "assistant"]
_TURN = re.compile(r"^<\|tsqa:(system|user|assistant)\|>[ \t]*$", re.MULTILINE)


class PromptShapeError(ValueError):
    """A rendered prompt whose turns cannot form a chat (empty, or not ending with the user)."""


def _marks(text: str) -> list[re.Match[str]]:
    """`_TURN.finditer(text)`, tried only where a marker starts a line."""
    marks = []
    at = text.find("<|tsqa:")
    while at >= 0:
        if (at == 0 or text[at - 1] == "\n") and (found := _TURN.match(text, at)) is not None:
            marks.append(found)
        at = text.find("<|tsqa:", at + 1)
    return marks


def split_turns(text: str) -> list[tuple[Role, str]]:
    """The chat a rendered prompt stands for: (role, content) per turn, in order."""
    marks = _marks(text)
    if not marks:
        return [("user", text.strip())]
    if text[: marks[0].start()].strip():
        raise PromptShapeError("text before the first turn marker")
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return _checked([(m.group(1), text[m.end() : end].strip()) for m, end in zip(marks, ends, strict=True)])  # type: ignore[misc]


def _checked(turns: list[tuple[Role, str]]) -> list[tuple[Role, str]]:
    if turns[-1][0] != "user" or any(not content for _, content in turns):
        raise PromptShapeError("a prompt's turns must be non-empty and end with a user turn")
    return turns


_Place = tuple[int, int]  # (literal number, offset in it) of a rendered shape


def split_shaped_turns(text: str, shape: Shape, holes: Sequence[str]) -> list[tuple[Role, str]]:
    """`split_turns(text)` for a text the shape renderer built from `shape` and `holes`, with the
    turn markers found once per shape: where they are depends only on the shape's literal text when
    every line that holds `<|tsqa:` lies inside one literal (no hole before it on its line, none
    after it on its line) and no hole holds `<|tsqa:`; otherwise it is `split_turns(text)`."""
    plan = shape.memo.get("turns", ())
    if plan == ():
        plan = shape.memo["turns"] = _turn_plan(shape)
    if plan is None or any("<|tsqa:" in h for h in holes) or text.count("<|tsqa:") != shape.text.count("<|tsqa:"):
        return split_turns(text)  # (the count: a marker that a hole and its neighbour make together)
    first, spans = plan
    starts, at = [], 0  # where each literal starts in `text`
    for i, literal in enumerate(shape.literals):
        starts.append(at)
        at += len(literal) + (len(holes[shape.indices[i]]) if i < len(shape.indices) else 0)
    if first is None:
        return [("user", text.strip())]
    if text[: starts[first[0]] + first[1]].strip():
        raise PromptShapeError("text before the first turn marker")
    return _checked([(role, text[starts[a] + ao : starts[b] + bo].strip()) for role, (a, ao), (b, bo) in spans])


def _turn_plan(shape: Shape) -> tuple[_Place | None, list[tuple[Role, _Place, _Place]]] | None:
    """Where the first marker starts and each turn's content lies, in literal places; None when a
    marker's line touches a hole (then every text of the shape is split on its own)."""
    from bisect import bisect_right

    text, literals = shape.text, shape.literals
    starts, at = [], 0
    for i, literal in enumerate(literals):
        starts.append(at)
        at += len(literal) + (shape.sentinels[shape.indices[i]] if i < len(shape.indices) else 0)

    def place(position: int) -> _Place | None:
        i = bisect_right(starts, position) - 1
        offset = position - starts[i]
        return (i, offset) if offset <= len(literals[i]) else None

    at = text.find("<|tsqa:")
    while at >= 0:
        line_end = text.find("\n", at)
        here, end = place(at), place(len(text) if line_end < 0 else line_end)
        if here is None or end is None or end[0] != here[0] or (here[1] == 0 and at > 0):
            return None
        at = text.find("<|tsqa:", at + 1)
    marks = _marks(text)
    if not marks:
        return None, []
    places = [(place(m.start()), place(m.end())) for m in marks]
    ends = [p[0] for p in places[1:]] + [place(len(text))]
    spans = [(m.group(1), p[1], end) for m, p, end in zip(marks, places, ends, strict=True)]
    return places[0][0], spans  # type: ignore[return-value]


def worked_example(record: dict[str, Any], fmt: str, *, with_context: bool) -> dict[str, Any]:
    """Template values for a worked example made of one *other* training record of the task:
    `example` (question, choices, answer_text, answer_index, context) and `example_json`, the
    record written as the generator's JSON reply (the shape of `generation_schema`). Its options
    are shuffled (seeded by its id), so the example never teaches a seed task's fixed answer slot."""
    from tsqa.stages.option_order import shuffle_example_options

    choices = list(record.get("options") or [])
    index = record.get("answer_index")
    if choices and index is not None and 0 <= index < len(choices):
        choices, index = shuffle_example_options(
            choices, index, key=f"example/{record.get('seed_id', record['question'])}"
        )
    item: dict[str, Any] = {"question": record["question"]}
    if fmt == "multiple_choice" and choices and index is not None:
        item["options"] = choices
        item["answer"] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]
    else:
        item["answer"] = record.get("answer_text") or ""
    if with_context:
        item["context"] = record.get("context") or ""
    return {
        "example": {
            "question": record["question"],
            "choices": choices,
            "answer_text": record.get("answer_text") or "",
            "answer_index": index,
            "context": record.get("context"),
        },
        "example_json": json.dumps({"questions": [item]}, ensure_ascii=False, separators=(",", ":")),
    }


def example_partner(pool_ids: Sequence[str], seed_id: str) -> int | None:
    """Which record of the pool serves as the worked example for seed `seed_id`: one picked by a
    hash of the seed's id among the pool's *other* records, so every request's example is another
    real record and the choice depends only on the seed and the pool (stable across runs and
    chunkings); None when the pool has no other record."""
    from tsqa.engines.base import derive_seed

    others = [i for i, pid in enumerate(pool_ids) if pid != seed_id]
    return others[derive_seed(0, f"example/{seed_id}") % len(others)] if others else None


@dataclass(frozen=True)
class BuiltinPrompt:
    name: str
    stage: PromptStage
    file: str


BUILTIN_PROMPTS: dict[str, BuiltinPrompt] = {
    p.name: p
    for p in (
        BuiltinPrompt("similar_question", "generate", "generate_similar_question.j2"),
        BuiltinPrompt("answer_only", "enrich", "enrich_answer_only.j2"),
        BuiltinPrompt("reasoning", "enrich", "enrich_reasoning.j2"),
        BuiltinPrompt("knowledge", "enrich", "enrich_knowledge.j2"),
        BuiltinPrompt("context", "enrich", "enrich_context.j2"),
        BuiltinPrompt("distractors", "enrich", "enrich_distractors.j2"),
        BuiltinPrompt("solve", "solve", "solve.j2"),
    )
}


@cache
def builtin_prompt_text(name: str) -> str:
    return files(__package__).joinpath(BUILTIN_PROMPTS[name].file).read_text(encoding="utf-8")


class PromptNotFound(Exception):
    """A prompt reference that names no built-in or an unreadable file."""


def resolve_prompt_text(ref: object, base_dir: Path) -> str:
    """The template text a prompt reference stands for (built-in name, {file}, or {inline})."""
    from tsqa.spec.models.prompts import PromptFile, PromptInline

    if isinstance(ref, str):
        if ref not in BUILTIN_PROMPTS:
            raise PromptNotFound(f"no built-in prompt {ref!r}")
        return builtin_prompt_text(ref)
    if isinstance(ref, PromptInline):
        return ref.inline
    if isinstance(ref, PromptFile):
        from tsqa.spec.prompt_files import PromptFileRefused, read_prompt_file

        try:  # inside the project, a small regular UTF-8 file (never /proc/self/environ, /dev/zero)
            return read_prompt_file(ref.file, base_dir)
        except PromptFileRefused as exc:
            raise PromptNotFound(str(exc)) from None
    raise PromptNotFound(f"not a prompt reference: {ref!r}")
