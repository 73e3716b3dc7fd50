"""Built-in prompt templates and the variables each stage hands to its prompt.

Templates are Jinja files beside this module, one per stage and variant, covering every answer
format through `format`. A spec may replace any of them by name, file or inline text; lint checks
that a replacement only uses the variables its stage provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

PromptStage = Literal["generate", "enrich", "solve"]

_RECORD = frozenset({"task", "description", "format", "question", "choices", "context"})

STAGE_VARIABLES: dict[PromptStage, frozenset[str]] = {
    # The seed record, with its answer, and how many new questions to write.
    "generate": _RECORD | {"answer", "answer_text", "per_seed", "group"},
    # A generated question with its answer, and the variant being written.
    "enrich": _RECORD | {"answer", "answer_text", "variant"},
    # Solving must not see the answer: it is what the vote checks.
    "solve": _RECORD,
}


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
        try:
            return (base_dir / ref.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptNotFound(f"prompt file {ref.file!r}: {exc}") from None
    raise PromptNotFound(f"not a prompt reference: {ref!r}")
