"""The packaged text of a question: the pretraining text that decontamination searches, package
writes (its `text` column) and blend counts. Context, question, lettered options, the enrichment
without its closing "The final answer is: …" (the text ends with the semantic answer, never only
a letter), and the answer.

`render_texts` renders a table's columns in the Rust core (rust/src/render.rs); `render_text` is
the same text in Python, one row at a time: the reference the native renderer is tested against
byte for byte (tests/stages/test_packaged_text.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from tsqa.stages.output_schema import LETTERS

COLUMNS = ("context", "question", "options", "enrichment", "answer_text")
"""The columns the text is rendered from."""


def render_texts(rows: pa.Table, *, threads: int | None = None) -> pa.Array:
    """The packaged text of every row of a table (COLUMNS at least), rendered natively."""
    from tsqa import _native

    return _native.render_packaged_texts(*(rows.column(c) for c in COLUMNS), threads=threads)


def render_text(row: Mapping[str, Any]) -> str:
    """The packaged text of one row (a dict of COLUMNS; context, options, enrichment optional)."""
    return _render(row.get("context"), row["question"], row.get("options"), row.get("enrichment"), row["answer_text"])


def _render(context: str | None, question: str, options: list[str] | None, enrichment: str | None, answer: str) -> str:
    parts = []
    if context:
        parts.append(context.strip())
    parts.append(f"Question: {question.strip()}")
    if options:
        parts.append("\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options)))
    body = _strip_final_line(enrichment or "")
    if body:
        parts.append(body)
    parts.append(f"Answer: {answer.strip()}")
    return "\n\n".join(parts)


_FINAL_TAIL = re.compile(r"(?:the\s+)?final\s+answer(?:\s+is)?\s*:?[^\n]*\s*$", re.IGNORECASE)


_FINAL = re.compile("[Ff][Iiİı][Nn][Aa][Ll]")
"""Every character that `_FINAL_TAIL` (IGNORECASE) matches for each letter of "final"."""


def _strip_final_line(text: str) -> str:
    """Drop a closing "The final answer is: …" (the packaged text ends with the semantic answer).

    `_FINAL_TAIL.sub` tried the pattern at every character; a match holds a "final", so it is tried
    only at each "final" and at the "the" before it, leftmost first: the same result, 2× faster."""
    text = text.strip()
    for found in _FINAL.finditer(text):
        start = found.start()
        space = start
        while space > 0 and text[space - 1].isspace():  # `\s` of a str pattern is str.isspace()
            space -= 1
        for begin in (space - 3, start) if 3 <= space < start else (start,):
            if _FINAL_TAIL.match(text, begin):
                return text[:begin].strip()
    return text
