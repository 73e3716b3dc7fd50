"""Static reading of lm-eval `doc_to_*` values: which columns they read, what they produce.

Mirrors lm-eval's resolution order (lm_eval/api/task.py) without a dataset at hand: a
`!function` reference is opaque; an int, list or dict is a literal; a string that is a bare
identifier names a column; any other string is a Jinja template.
"""

from __future__ import annotations

import ast
import os
import re

import jinja2
import jinja2.meta

# TaskManager leaves `!function utils.f` as the absolute path "<yaml dir>/utils.f".
_FUNCTION_REF = re.compile(r"^[^\s{}%#]+\.[A-Za-z_]\w*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
# A choice label: "A", "(B)", "C.", "d)".
_LETTER = re.compile(r"^\(?[A-Za-z]\)?\.?$")
# "{{ choices.label }}": the choices are the labels of another column.
_LABEL_FIELD = re.compile(r"^\{\{\s*\w+\.labels?\s*\}\}$")
_ONE_EXPRESSION = re.compile(r"^\{\{(.*)\}\}$", re.DOTALL)

_ENV = jinja2.Environment()
# lm-eval's own filter (lm_eval.utils); analysis needs the name registered, never calls it.
_ENV.filters["regex_replace"] = lambda value, *_: value
_JINJA_GLOBALS = frozenset(_ENV.globals)


def is_function_ref(value: object) -> bool:
    """True for the path string TaskManager leaves in place of a `!function` value."""
    return isinstance(value, str) and os.path.isabs(value) and bool(_FUNCTION_REF.match(value))


def template_columns(value: object) -> frozenset[str] | None:
    """Columns a `doc_to_*` value reads; None when unknowable (function or broken template).

    >>> sorted(template_columns("Question: {{question}}\\nAnswer:"))
    ['question']
    >>> template_columns("answerKey")
    frozenset({'answerKey'})
    >>> template_columns(["yes", "no"])
    frozenset()
    """
    if value is None or isinstance(value, (int, list, dict)):
        return frozenset()
    if not isinstance(value, str) or is_function_ref(value):
        return None
    if _IDENTIFIER.match(value):
        return frozenset({value})
    try:
        return frozenset(jinja2.meta.find_undeclared_variables(_ENV.parse(value)) - _JINJA_GLOBALS)
    except jinja2.TemplateError:  # syntax error, or a filter lm-eval would not know either
        return None


def letter_only_choices(doc_to_choice: object) -> bool:
    """True when the choices are option labels ("A".."E"), the option texts living elsewhere.

    >>> letter_only_choices(["A", "B", "C", "D", "E"])
    True
    >>> letter_only_choices("{{choices.text}}")
    False
    """
    if isinstance(doc_to_choice, list):
        return _all_letters(doc_to_choice)
    if not isinstance(doc_to_choice, str) or is_function_ref(doc_to_choice):
        return False
    text = doc_to_choice.strip()
    if _LABEL_FIELD.match(text):
        return True
    one = _ONE_EXPRESSION.match(text)
    if one is None:
        return False
    try:  # "{{['A', 'B', 'C', 'D']}}"
        literal = ast.literal_eval(one.group(1).strip())
    except (ValueError, SyntaxError):
        return False
    return isinstance(literal, list) and _all_letters(literal)


def _all_letters(items: list[object]) -> bool:
    return bool(items) and all(isinstance(c, str) and _LETTER.match(c.strip()) for c in items)
