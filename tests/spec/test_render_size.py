"""`_size` (the estimate every render bound uses) takes plain types first: the same numbers as the
isinstance-only walk it replaced, early stop included, on random nested values."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from tsqa.spec.templates import _size


def _reference(value: Any, limit: int) -> int:
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, Mapping):
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            total += max(1, int(v.bit_length() * 0.302) + 1)
        else:
            total += 8
        if total > limit:
            return total
    return total


class _Str(str):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


def _value(rng: random.Random, depth: int = 0) -> Any:
    leaves = [
        lambda: "x" * rng.randint(0, 50),
        lambda: _Str("sub"),
        lambda: rng.randint(-(10**30), 10**30),
        lambda: rng.choice([True, False]),
        lambda: None,
        lambda: rng.random(),
        lambda: b"bytes",
    ]
    if depth > 3 or rng.random() < 0.4:
        return rng.choice(leaves)()
    kind = rng.randrange(6)
    items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 0:
        return items
    if kind == 1:
        return tuple(items)
    if kind == 2:
        return {f"k{i}": v for i, v in enumerate(items)}
    if kind == 3:
        return OrderedDict((f"k{i}", v) for i, v in enumerate(items))
    if kind == 4:
        return _Dict({f"k{i}": v for i, v in enumerate(items)})
    return frozenset(str(v) for v in items)


def test_size_matches_the_isinstance_walk() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = _value(rng)
        for limit in (10, 100, 1_000_000):
            assert _size(value, limit) == _reference(value, limit)
