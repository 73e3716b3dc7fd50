"""Check enriched answers and render the packaged text.

An enrichment must not be empty or truncated, and must not argue for another answer: its final
answer, when one can be extracted, is compared with the verified answer by the Rust vote core (so
"The final answer is: (B)" and the option text count as the same). The packaged text always ends
with the semantic answer, never only a letter.
"""

from __future__ import annotations

import re
from typing import Any

from tsqa.curate.vote import majority_vote
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.verify import vote_mode

_FINAL_MARKERS = ("the final answer is", "final answer:")


def check_enrichments(fmt: str, rows: list[dict[str, Any]]) -> list[str]:
    """A reason per row: `kept`, `engine_error`, `empty`, `truncated` or `contradicts_answer`."""
    reasons = []
    for row in rows:
        if row.get("error"):
            reasons.append("engine_error")
        elif not (row.get("text") or "").strip():
            reasons.append("empty")
        elif row.get("finish_reason") == "length":
            reasons.append("truncated")
        else:
            reasons.append("kept")
    mode = vote_mode(fmt, "auto") or "final_answer"
    checkable = [
        i
        for i, (r, row) in enumerate(zip(reasons, rows, strict=True))
        if r == "kept" and any(m in row["text"].lower() for m in _FINAL_MARKERS)
    ]
    if checkable:
        vote = majority_vote(
            [[rows[i]["text"]] for i in checkable],
            mode=mode,  # type: ignore[arg-type]
            options=[rows[i]["options"] for i in checkable] if fmt == "multiple_choice" else None,
            references=[_reference(fmt, rows[i]) for i in checkable],
        )
        for i, votes, match in zip(checkable, vote.votes.tolist(), vote.matches_reference.to_pylist(), strict=True):
            if votes and match is False:
                reasons[i] = "contradicts_answer"
    return reasons


def _reference(fmt: str, row: dict[str, Any]) -> str:
    return LETTERS[row["answer_index"]] if fmt == "multiple_choice" else row["answer_text"]


def render_text(row: dict[str, Any]) -> str:
    """The pretraining text of one packaged row: question, options, context, enrichment, answer."""
    parts = []
    if row.get("context"):
        parts.append(row["context"].strip())
    parts.append(f"Question: {row['question'].strip()}")
    if row.get("options"):
        parts.append("\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(row["options"])))
    body = _strip_final_line(row.get("enrichment") or "")
    if body:
        parts.append(body)
    parts.append(f"Answer: {row['answer_text'].strip()}")
    return "\n\n".join(parts)


_FINAL_TAIL = re.compile(r"(?:the\s+)?final\s+answer(?:\s+is)?\s*:?[^\n]*\s*$", re.IGNORECASE)


def _strip_final_line(text: str) -> str:
    """Drop a closing "The final answer is: …" (the packaged text ends with the semantic answer)."""
    return _FINAL_TAIL.sub("", text.strip()).strip()
