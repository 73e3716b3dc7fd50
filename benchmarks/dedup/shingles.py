"""The Python reference tokenisation: the same normal form and word n-grams as tsqa's native
normaliser (ASCII: lowercase, non-alphanumerics are breaks), as joined strings. Used for the
peers' input (timed: it is their real cost) and for exact ground-truth Jaccard."""

from __future__ import annotations

import re

_BREAK = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    return _BREAK.sub(" ", text.lower()).split()


def shingles(text: str, n: int = 5) -> list[str]:
    w = words(text)
    if len(w) <= n:
        return [" ".join(w)] if w else []
    return [" ".join(w[i : i + n]) for i in range(len(w) - n + 1)]


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = set(shingles(a, n)), set(shingles(b, n))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
