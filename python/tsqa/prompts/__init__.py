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
from typing import Any, Literal

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


def split_turns(text: str) -> list[tuple[Role, str]]:
    """The chat a rendered prompt stands for: (role, content) per turn, in order."""
    marks = list(_TURN.finditer(text))
    if not marks:
        return [("user", text.strip())]
    turns: list[tuple[Role, str]] = []
    if text[: marks[0].start()].strip():
        raise PromptShapeError("text before the first turn marker")
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        content = text[mark.end() : after.start() if after else len(text)].strip()
        turns.append((mark.group(1), content))  # type: ignore[arg-type]
    if turns[-1][0] != "user" or any(not content for _, content in turns):
        raise PromptShapeError("a prompt's turns must be non-empty and end with a user turn")
    return turns


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
