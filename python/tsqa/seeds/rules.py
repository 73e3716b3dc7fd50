"""lm-eval's field rules, reimplemented: one `doc_to_*` value → a function of a document.

Resolution order (lm_eval/api/task.py, ConfigurableTask.doc_to_text/choice/target): a function
→ called; an int → as is; a list → as is (a dict → its values); a string naming a column → that
column; any other string → Jinja, then per field: `doc_to_choice` output is `ast.literal_eval`'d;
`doc_to_target` output of digits (with choices) is an index, `[...]` is a list (several targets);
`doc_to_text` output of digits (with choices) is the gold index of a multiple-input task.
The spec's `fields` templates go through the same rules, so a spec can write what lm-eval writes.
Templates are compiled once, here, in tsqa's sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tsqa.seeds.errors import SeedError
from tsqa.seeds.functions import import_function, is_function
from tsqa.spec.templates import TemplateError, compile_template, template_variables

FieldKind = Literal["text", "choice", "target", "plain"]
Doc = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FieldRule:
    origin: str  # "fields.answer" or "lm-eval doc_to_target", for messages
    evaluate: Callable[[Doc], Any]
    constant: bool  # reads nothing from the document (e.g. sciq's `doc_to_target: 3`)


def compile_rule(value: Any, kind: FieldKind, *, origin: str, features: frozenset[str], has_choices: bool) -> FieldRule:
    """One field's evaluator. `features` are the documents' column names (after process_docs)."""
    if isinstance(value, bool) or value is None:
        raise SeedError(f"{origin}: unsupported value {value!r}")
    if isinstance(value, int):
        return FieldRule(origin, lambda doc: value, constant=True)
    if isinstance(value, dict):
        values = list(value.values())
        return FieldRule(origin, lambda doc: values, constant=True)
    if isinstance(value, list):
        return FieldRule(origin, lambda doc: value, constant=True)
    if not isinstance(value, str):
        raise SeedError(f"{origin}: unsupported value of type {type(value).__name__}")
    if is_function(value):
        fn = import_function(value)
        return FieldRule(origin, fn, constant=False)
    if value in features:
        return FieldRule(origin, lambda doc: doc[value], constant=False)
    try:
        template = compile_template(value)
        constant = not template_variables(value)
    except TemplateError as err:
        raise SeedError(f"{origin}: invalid template (line {err.line}): {err.message}") from None
    render = template.render
    if kind == "choice":
        return FieldRule(origin, lambda doc: _as_list(ast.literal_eval(render(doc))), constant)
    if kind == "target":
        return FieldRule(origin, lambda doc: _target(render(doc), has_choices), constant)
    if kind == "text" and has_choices:
        return FieldRule(origin, lambda doc: _text(render(doc)), constant)
    return FieldRule(origin, render, constant)


def _as_list(value: Any) -> Any:
    return list(value.values()) if isinstance(value, dict) else value


def _text(rendered: str) -> str | int:
    return int(rendered) if rendered.isdigit() else rendered


def _target(rendered: str, has_choices: bool) -> Any:
    if rendered.isdigit() and has_choices:
        return int(rendered)
    if len(rendered) >= 2 and rendered[0] == "[" and rendered[-1] == "]":
        try:
            return ast.literal_eval(rendered)
        except (SyntaxError, ValueError):
            return rendered
    return rendered
