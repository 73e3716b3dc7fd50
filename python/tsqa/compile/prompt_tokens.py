"""Prompt token counts for the plan, each distinct render done once per plan.

A plan renders every model stage's templates on a few sampled seed rows of every task (~22k
renders for 700 tasks). Sampled rows often repeat (short seed files, a worked example shared by
the task), and a template only reads some of the variables it is given, so renders are keyed by
(template, the values of the variables it reads): the same key gives the same text, whatever the
other variables hold.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from tsqa.compile.tokens import TokenCounter
from tsqa.spec.templates import TemplateError, compile_template, template_variables

_FAILED = -1


class PromptRenders:
    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, Hashable], int] = {}

    def count(
        self, text: str, values: Mapping[str, Any], allowed: frozenset[str], counter: TokenCounter
    ) -> int | None:
        """Prompt tokens of `text` rendered with the `allowed` variables of `values`; None when
        the render fails."""
        variables = {k: v for k, v in values.items() if k in allowed}
        try:
            read = template_variables(text)
        except TemplateError:
            return None
        try:
            # An absent variable (`is defined` is false) keys apart from any value.
            key = (counter.method, text, tuple((n, n in variables, _freeze(variables.get(n))) for n in sorted(read)))
        except TypeError:  # a value of another type: rendered without the cache
            return self._render_count(text, variables, counter)
        tokens = self._tokens.get(key)
        if tokens is None:
            counted = self._render_count(text, variables, counter)
            tokens = self._tokens[key] = _FAILED if counted is None else counted
        return None if tokens == _FAILED else tokens

    @staticmethod
    def _render_count(text: str, variables: dict[str, Any], counter: TokenCounter) -> int | None:
        try:
            rendered = compile_template(text).render(**variables)
        except Exception:  # noqa: BLE001 - lint reports template errors; here the row is skipped
            return None
        return counter.count_prompt(rendered)


_SCALARS = (str, int, float, bool, type(None))


def _freeze(value: Any) -> Hashable:
    """A key that tells apart every value that could render differently: types included (1,
    1.0, True and "1" differ; a list and a tuple print differently)."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind.__name__, value)
    if kind in (list, tuple):
        return (kind.__name__, tuple(_freeze(v) for v in value))
    if kind is dict:
        return ("dict", tuple((_freeze(k), _freeze(v)) for k, v in value.items()))
    raise TypeError(kind.__name__)
