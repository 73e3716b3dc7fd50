"""Letter-only choices ("A".."E"): find the option text each letter stands for.

Some tasks score the letter (commonsense_qa, medmcqa, medqa …); the text lives in another
column or only in the prompt. Seeds must carry the semantic answer, so each letter is mapped
back, trying in order: a `{label, text}` column, one column per option (`opa`..`opd`,
`optionA`..), and lettered lines of the rendered prompt ("A. text", "(B) text", "C) text").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_LETTER = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
_PROMPT_LINE = re.compile(r"^\s*\(?([A-Za-z])[.):]\s+(.+?)\s*$", re.MULTILINE)


def letters_of(choices: Sequence[Any]) -> list[str] | None:
    """The bare letters when every choice is a letter label, else None.

    >>> letters_of(["A", "(B)", "c."])
    ['A', 'B', 'C']
    >>> letters_of(["yes", "no"]) is None
    True
    """
    out = []
    for c in choices:
        label = c.strip() if isinstance(c, str) else ""
        # "(B)." is the longest label: most choices are option texts, rejected without the regex
        m = _LETTER.match(label) if 0 < len(label) <= 4 else None
        if m is None:
            return None
        out.append(m.group(1).upper())
    return out or None


def option_texts(doc: Mapping[str, Any], letters: Sequence[str], prompt: str | None) -> list[str] | None:
    """The option text for each letter, or None when it cannot be found."""
    for finder in (_from_label_column, _from_option_columns):
        found = finder(doc, letters)
        if found is not None:
            return found
    return _from_prompt(prompt, letters) if prompt else None


def _from_label_column(doc: Mapping[str, Any], letters: Sequence[str]) -> list[str] | None:
    for value in doc.values():
        if isinstance(value, Mapping) and "text" in value and ("label" in value or "labels" in value):
            labels = [str(lab).strip().upper() for lab in value.get("label", value.get("labels")) or []]
            texts = list(value["text"])
            if len(labels) == len(texts) and all(letter in labels for letter in letters):
                return [str(texts[labels.index(letter)]) for letter in letters]
    return None


def _from_option_columns(doc: Mapping[str, Any], letters: Sequence[str]) -> list[str] | None:
    lowered = {k.lower(): k for k in doc}
    for prefix in ("op", "option", "option_", "opt", "choice", "choice_", ""):
        keys = [lowered.get(prefix + letter.lower()) for letter in letters]
        if all(k is not None for k in keys) and all(isinstance(doc[k], str) for k in keys):  # type: ignore[index]
            return [doc[k] for k in keys]  # type: ignore[index]
    return None


def _from_prompt(prompt: str, letters: Sequence[str]) -> list[str] | None:
    found: dict[str, str] = {}
    for m in _PROMPT_LINE.finditer(prompt):
        found.setdefault(m.group(1).upper(), m.group(2))
    if all(letter in found for letter in letters):
        return [found[letter] for letter in letters]
    return None
