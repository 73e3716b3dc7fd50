"""Prompt token counts for the plan, each distinct render done once per plan.

A plan renders every model stage's templates on a few sampled seed rows of every task (~22k
renders for 700 tasks). Sampled rows often repeat (short seed files, a worked example shared by
the task), and a template only reads some of the variables it is given, so renders are keyed by
(template, the values of the variables it reads): the same key gives the same text, whatever the
other variables hold.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from tsqa.compile.tokens import TokenCounter
from tsqa.spec.template_shapes import render_shaped
from tsqa.spec.templates import LIMITS, _size, template_variables

_FAILED = -1
_BOUND_MARGIN = 1024
"""Room left under the input bound for what a stage adds to a row (the variant's name)."""
_ABSENT = object()
"""An absent variable (`is defined` is false): keys apart from every value."""


class PromptRenders:
    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, tuple[str, ...], tuple[Hashable, ...]], int] = {}

    @staticmethod
    def keys(values: Mapping[str, Any]) -> dict[str, Hashable] | None:
        """The cache keys of a row's values, computed once per row (None: its renders skip the
        cache). A key stands for the values a template reads, but a render's input bound
        (`check_input`) counts every value it is given: a row near that bound is never keyed, so
        it neither reuses nor leaves a count that its unread values would change."""
        if _size(values, LIMITS.max_input_chars) + _BOUND_MARGIN > LIMITS.max_input_chars:
            return None
        try:
            return {name: _key(value) for name, value in values.items()}
        except TypeError:
            return None

    def count(
        self,
        text: str,
        values: Mapping[str, Any],
        allowed: frozenset[str],
        counter: TokenCounter,
        keys: Mapping[str, Hashable] | None = None,
    ) -> int | None:
        """Prompt tokens of `text` rendered with the `allowed` variables of `values`; None when
        the render fails. `keys`: `keys(values)`, when the caller has it already."""
        names = _read_names(text, allowed)
        if names is None:  # does not compile: the render fails (lint names the error)
            return None
        keys = keys if keys is not None else self.keys(values)
        if keys is None:
            return self._render_count(text, values, allowed, counter)
        key = (counter.method, text, names, tuple([keys.get(n, _ABSENT) for n in names]))
        tokens = self._tokens.get(key)
        if tokens is None:
            counted = self._render_count(text, values, allowed, counter)
            tokens = self._tokens[key] = _FAILED if counted is None else counted
        return None if tokens == _FAILED else tokens

    def count_rows(
        self,
        text: str,
        rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Hashable] | None]],
        extra: Mapping[str, Any],
        allowed: frozenset[str],
        counter: TokenCounter,
    ) -> list[int | None]:
        """`count(text, {**values, **extra}, allowed, counter, {**keys, **keys(extra)})` for each
        (values, keys) row, without merging the row with `extra` unless it is rendered."""
        names = _read_names(text, allowed)
        if names is None:
            return [None] * len(rows)
        extra_keys = self.keys(extra)
        out: list[int | None] = []
        for values, keys in rows:
            if keys is None or extra_keys is None:
                out.append(self._render_count(text, {**values, **extra}, allowed, counter))
                continue
            key = (
                counter.method,
                text,
                names,
                tuple([extra_keys[n] if n in extra_keys else keys.get(n, _ABSENT) for n in names]),
            )
            tokens = self._tokens.get(key)
            if tokens is None:
                counted = self._render_count(text, {**values, **extra}, allowed, counter)
                tokens = self._tokens[key] = _FAILED if counted is None else counted
            out.append(None if tokens == _FAILED else tokens)
        return out

    @staticmethod
    def variables(text: str, allowed: frozenset[str]) -> tuple[str, ...] | None:
        """The variables of `allowed` that `text` reads (None: it does not parse); cached."""
        return _read_names(text, allowed)

    @staticmethod
    def _render_count(
        text: str, values: Mapping[str, Any], allowed: frozenset[str], counter: TokenCounter
    ) -> int | None:
        try:
            rendered = render_shaped(text, {k: v for k, v in values.items() if k in allowed})
        except Exception:  # noqa: BLE001 - lint reports template errors; here the row is skipped
            return None
        return counter.count_prompt(rendered)


@lru_cache(maxsize=1024)
def _read_names(text: str, allowed: frozenset[str]) -> tuple[str, ...] | None:
    """The variables the template reads that the stage passes (the others are never defined)."""
    try:
        return tuple(sorted(template_variables(text) & allowed))
    except Exception:  # noqa: BLE001 - a template that does not parse fails its render, as before
        return None


_SCALARS = (int, float, bool)


def _key(value: Any) -> Hashable:
    """A key that tells apart every value that could render differently. Strings, None and the
    absent marker equal only their own kind; other types are tagged (1, 1.0 and True are equal
    keys otherwise; a list and a tuple print differently)."""
    kind = type(value)
    if kind is str or value is None or value is _ABSENT:
        return value  # type: ignore[no-any-return]
    if kind in _SCALARS:
        return (kind.__name__, value)
    if kind in (list, tuple):
        return (kind.__name__, tuple(_key(v) for v in value))
    if kind is dict:
        return ("dict", tuple((_key(k), _key(v)) for k, v in value.items()))
    raise TypeError(kind.__name__)
