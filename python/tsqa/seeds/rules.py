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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jinja2

from tsqa.seeds.errors import SeedError
from tsqa.seeds.functions import code_reference, import_function, is_function
from tsqa.spec.templates import (
    LIMITS,
    MISSING,
    RenderLimitError,
    TemplateError,
    check_input,
    check_output,
    compile_template,
    lookup,
    plain_lookup,
    render_budget,
    render_stream,
    template_variables,
)

_ONE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%|\{#).)*)\}\}$", re.DOTALL)
_RESULT = "__tsqa_value"

FieldKind = Literal["text", "choice", "target", "plain"]
Doc = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FieldRule:
    origin: str  # "fields.answer" or "lm-eval doc_to_target", for messages
    evaluate: Callable[[Doc], Any]
    constant: bool  # reads nothing from the document (e.g. sciq's `doc_to_target: 3`)
    columns: frozenset[str] = frozenset()  # the document columns it reads (as far as known)
    column: str | None = None  # the rule is this column's value, as is (normalise reads it as an Arrow column)


def compile_rule(
    value: Any,
    kind: FieldKind,
    *,
    origin: str,
    features: frozenset[str],
    has_choices: bool,
    from_spec: bool = True,
) -> FieldRule:
    """One field's evaluator. `features` are the documents' column names (after process_docs).

    `from_spec`: the value is a spec's (never code: a `!function` there is refused, not imported);
    only the catalogue's own lm-eval rules (from_spec=False) may name task functions.
    """
    if isinstance(value, str):  # the same field template in many specs: compiled once (rules are pure)
        return _compiled_rule(value, kind, origin, features, has_choices, from_spec)
    return _compile_rule(value, kind, origin=origin, features=features, has_choices=has_choices, from_spec=from_spec)


@lru_cache(maxsize=4096)
def _compiled_rule(
    value: str, kind: FieldKind, origin: str, features: frozenset[str], has_choices: bool, from_spec: bool
) -> FieldRule:
    return _compile_rule(value, kind, origin=origin, features=features, has_choices=has_choices, from_spec=from_spec)


def _compile_rule(
    value: Any,
    kind: FieldKind,
    *,
    origin: str,
    features: frozenset[str],
    has_choices: bool,
    from_spec: bool = True,
) -> FieldRule:
    if from_spec and isinstance(value, str) and (code := code_reference(value)):
        raise SeedError(f"{origin}: {code!r} refused: a spec is data, never code")
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
        fn = import_function(value)  # the catalogue's reference: lm-eval's own task modules only
        return FieldRule(origin, fn, constant=False)
    if value in features:
        return FieldRule(origin, lambda doc: doc[value], constant=False, columns=frozenset({value}), column=value)
    try:
        template = compile_template(value)
        used = template_variables(value)
        constant = not used
    except TemplateError as err:
        raise SeedError(f"{origin}: invalid template (line {err.line}): {err.message}") from None
    cols = used & features
    return _template_rule(value, template, kind, origin, constant, has_choices, cols)


def _template_rule(
    value: str,
    template: jinja2.Template,
    kind: FieldKind,
    origin: str,
    constant: bool,
    has_choices: bool,
    cols: frozenset[str],
) -> FieldRule:
    render = fast_render(template, value)
    if kind == "choice":
        one = _ONE_EXPRESSION.match(value.strip())
        if one is not None:  # "{{ choices.text }}": the value itself, no str() + literal_eval round trip
            evaluate = _set_value(one["expr"], value)
            return FieldRule(origin, lambda doc: _as_list(_literal(evaluate(doc))), constant, cols)
        return FieldRule(origin, lambda doc: _as_list(ast.literal_eval(render(doc))), constant, cols)
    if kind == "target":
        one = _ONE_EXPRESSION.match(value.strip())
        if one is not None:  # "{{ answer.aliases }}": a list value needs no str() + literal_eval round trip
            evaluate = _set_value(one["expr"], value)
            return FieldRule(origin, lambda doc: _target_value(evaluate(doc), has_choices), constant, cols)
        return FieldRule(origin, lambda doc: _target(render(doc), has_choices), constant, cols)
    if kind == "text" and has_choices:
        return FieldRule(origin, lambda doc: _text(render(doc)), constant, cols)
    return FieldRule(origin, render, constant, cols)


def _set_value(expr: str, source: str) -> Callable[[Doc], Any]:
    """The value of `{{ expr }}` (the template `source`) as an object, not its text."""
    return fast_value(compile_template("{% set " + _RESULT + " = (" + expr + ") %}"), plain_lookup(source))


def fast_render(template: jinja2.Template, source: str | None = None) -> Callable[[Doc], str]:
    """`template.render(doc)` without re-merging the environment's globals on every call.

    Jinja's render builds each context by copying a ChainMap of globals (about half of the
    per-record cost for short templates); the globals are copied once here instead. A template
    that is one plain lookup (`source` is `{{ question }}`) of a text value skips Jinja: the
    result and the bounds are Jinja's (tests/seeds/test_plain_lookup.py compares the two).
    """
    globals_ = dict(template.globals)
    new_context, root = template.new_context, template.root_render_func
    path = plain_lookup(source) if source is not None else None

    def render(doc: Doc) -> str:
        check_input(doc)  # a 10 MB field fails its record before any filter sees it
        if path is not None and type(value := lookup(doc, path)) is str:
            # What Jinja writes for `{{ name }}` holding text: the text, under the same bounds.
            if len(value) > LIMITS.max_chars:
                raise RenderLimitError(f"template output over {LIMITS.max_chars:,} characters")
            return check_output(value, doc)
        ctx = new_context({**globals_, **doc}, shared=True)
        try:
            return check_output(render_stream(root(ctx)), doc)  # bounded: time, size, loop iterations
        except Exception:
            template.environment.handle_exception()  # re-raises with the template's traceback
            raise

    return render


def fast_value(template: jinja2.Template, path: tuple[str, ...] | None = None) -> Callable[[Doc], Any]:
    """The value a `{% set __tsqa_value = expr %}` template assigns, as a Python object. `path`:
    `plain_lookup` of the expression's own `{{ expr }}` template, when it is a plain lookup."""
    globals_ = dict(template.globals)
    new_context, root = template.new_context, template.root_render_func

    def value(doc: Doc) -> Any:
        check_input(doc)
        if path is not None and (found := lookup(doc, path)) is not MISSING:
            return found  # what `{% set v = (name) %}` assigns: the document's own value
        ctx = new_context({**globals_, **doc}, shared=True)
        with render_budget():
            for _ in root(ctx):
                pass
        result = ctx.vars[_RESULT]
        if isinstance(result, jinja2.Undefined):
            str(result)  # StrictUndefined raises here, naming the variable
        return result

    return value


def _literal(value: Any) -> Any:
    # lm-eval literal_evals the rendered text: a string value is parsed, anything else is as rendered.
    if isinstance(value, str):
        return ast.literal_eval(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, jinja2.Undefined) for v in value):
        for v in value:
            str(v)
    return value


def _as_list(value: Any) -> Any:
    return list(value.values()) if isinstance(value, dict) else value


def _text(rendered: str) -> str | int:
    return int(rendered) if rendered.isdigit() else rendered


def _target_value(value: Any, has_choices: bool) -> Any:
    """`_target` of the rendered value, short-cutting lists of literals (what literal_eval returns)."""
    if isinstance(value, list) and all(v is None or isinstance(v, (str, int, float)) for v in value):
        return list(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # raises, naming the variable
    return _target(value if isinstance(value, str) else str(value), has_choices)


def _target(rendered: str, has_choices: bool) -> Any:
    if rendered.isdigit() and has_choices:
        return int(rendered)
    if len(rendered) >= 2 and rendered[0] == "[" and rendered[-1] == "]":
        try:
            return ast.literal_eval(rendered)
        except (SyntaxError, ValueError):
            return rendered
    return rendered
