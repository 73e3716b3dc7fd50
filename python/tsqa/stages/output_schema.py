"""The JSON a generator must return, per answer format: a schema for structured decoding and the
bounds parse/validate enforces (the same numbers, so the two never disagree)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from typing import Any

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class Bounds:
    question_chars: tuple[int, int] = (10, 2000)
    option_chars: tuple[int, int] = (1, 400)
    answer_chars: tuple[int, int] = (1, 300)
    context_chars: tuple[int, int] = (1, 3000)
    long_answer_chars: tuple[int, int] = (1, 6000)


BOUNDS = Bounds()


@cache
def generation_schema(fmt: str, per_seed: int, n_options: int | None, with_context: bool) -> dict[str, Any]:
    """Schema of `{"questions": [...]}` with exactly what the format needs; strings are bounded so a
    model that never stops (random weights, runaway sampling) still ends inside the grammar.
    Cached: one shared (read-only) dict per shape, not one per request."""
    item: dict[str, Any] = {"question": _text(BOUNDS.question_chars)}
    required = ["question", "answer"]
    if fmt == "multiple_choice":
        count = n_options or 4
        item["options"] = {"type": "array", "items": _text(BOUNDS.option_chars), "minItems": count, "maxItems": count}
        item["answer"] = {"type": "string", "enum": list(LETTERS[:count])}
        required.insert(1, "options")
    elif fmt == "short_answer":
        item["answer"] = _text(BOUNDS.answer_chars)
    else:  # free_form, code
        item["answer"] = _text(BOUNDS.long_answer_chars)
    if with_context:
        item["context"] = _text(BOUNDS.context_chars)
        required.append("context")
    return {
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": item,
                    "required": required,
                    "additionalProperties": False,
                },
                "minItems": 1,
                "maxItems": per_seed,
            }
        },
        "required": ["questions"],
        "additionalProperties": False,
    }


def _text(bounds: tuple[int, int]) -> dict[str, Any]:
    return {"type": "string", "minLength": bounds[0], "maxLength": bounds[1]}
