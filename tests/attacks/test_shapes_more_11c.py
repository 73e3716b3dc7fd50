"""Attack 11c: the shaped render (spec/template_shapes.py) against the plain bounded render after
6807dc8 (macros as values, `loop` names), split_shaped_turns' marker count, and the block-nesting
limit of spec/templates.py (MAX_BLOCK_NESTING)."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spec"))
from test_template_shapes import _plain, _shaped  # the outcomes the shape tests compare

from tsqa.prompts import PromptShapeError, split_shaped_turns, split_turns
from tsqa.spec.template_shapes import ShapeRenderer, render_shaped
from tsqa.spec.templates import MAX_BLOCK_NESTING, TemplateError, compile_template, template_variables

RECORDS = [
    {"question": "abc", "opts": ["a", "b"]},
    {"question": "xyz", "opts": ["c", "d"]},
    {"question": "a longer question", "opts": ["e", "ff"]},
    {"question": "", "opts": []},
    {"question": "q", "opts": ["", "x"]},
    {"question": "abcd", "opts": ("bb", "b")},
    {"question": "abc", "opts": [["x"], ["y", "z"]]},
    {"question": "abc", "opts": ["b", "b"]},
    {"question": "q", "opts": [1, 2]},
]

M = "{% macro m(x) %}<{{ x }}>{% endmacro %}"
SHAPE_CASES = [
    M + "{{ question | replace('a', m('z')) }}",
    M + "{{ question ~ m(question) | upper }}",
    M + "{{ m(question) }}{{ question | default(m) }}",
    M + "{% for m in opts %}{{ m }}{% endfor %}{{ m(question) }}",
    M + "{% for m in opts %}{{ m(question) }}{% endfor %}",
    "{% macro m(x) %}{{ caller() }}{{ x }}{% endmacro %}{% call m(question) %}[{{ question }}]{% endcall %}",
    "{% macro m() %}{{ varargs }}{{ question }}{% endmacro %}{{ m(question) }}",
    "{% macro m() %}{{ kwargs }}{% endmacro %}{{ m(q=question) }}",
    "{% macro m(x) %}{{ x }}{{ varargs | length }}{% endmacro %}{{ m(question, opts) }}",
    "{% macro m(x) %}{{ m.name }}{{ x }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m.arguments }}{{ m(question) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}{{ m.caller }}",
    "{% for o in opts %}{% for p in opts %}{{ loop.index }}{{ p }}{% endfor %}{{ loop.index }}{{ o }}{% endfor %}",
    "{% for o in opts %}{% set outer = loop %}{% for p in opts %}{{ outer.index }}{{ p }}{% endfor %}{% endfor %}",
    "{% for o in opts %}{{ loop.length }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ o }}{% endfor %}",
    "{% for o in opts %}{{ loop.previtem }}{{ loop.nextitem }}{{ o }}{% endfor %}",
    "{% for o in opts %}{{ loop.cycle('a', question) }}{% endfor %}",
    "{% for o in opts %}{{ loop.changed(o) }}{{ o }}{% endfor %}",
    "{% for o in opts recursive %}{{ o }}{% endfor %}",
    "{% for o in opts %}{{ loop }}{% endfor %}",
    "{% for o in opts %}{{ loop.depth }}{{ o }}{% endfor %}",
    "{% for o in opts if o %}{{ loop.index }}{{ o }}{% endfor %}",
    "{% for o in opts %}{{ o }}{% else %}none{{ question }}{% endfor %}",
    "{% for o, p in opts %}{{ o }}{% endfor %}",
    "{% for loop in opts %}{{ loop }}{% endfor %}",
    "{{ self }}{{ question }}",
    "{% block b %}{{ question }}{% endblock %}{{ self.b() }}",
    "{{ question }}{% set question = 'x' %}{{ question }}",
    "{% set q = question %}{{ q }}{{ q | length }}",
    "{% with q = question %}{{ q }}{% endwith %}",
    "{{ question if question else 'none' }}",
    "{{ question[:3] }}",
    "{{ question | length }}{{ question }}",
    "{% if question == 'abc' %}A{% endif %}{{ question }}",
    "{% if question %}{{ question }}{% endif %}",
    "{{ opts | length }}{% for o in opts %}{{ o }}{% endfor %}",
    "{{ opts }}",
    "{% for o in opts %}{{ o }}{% endfor %}{{ opts[0] }}",
    "{{ question | e }}",
    "{{ '%s' | format(question) }}",
    "{{ range(opts | length) | list }}",
    "{% macro m(x) %}{% for o in x %}{{ loop.index }}{{ o }}{% endfor %}{% endmacro %}{{ m(opts) }}",
    "{% macro m(x, loop) %}{{ loop }}{{ x }}{% endmacro %}{{ m(question, opts) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% for o in opts %}{{ m(loop.index) }}{{ m(o) }}{% endfor %}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% for o in opts %}{{ m(loop) }}{% endfor %}",
    "{% macro m(x=question) %}{{ x }}{% endmacro %}{{ m() }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(x=question) }}",
    "{% macro m(x) %}{{ x }}{{ question }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{% if x %}{{ x }}{% endif %}{% endmacro %}{{ m(question) }}{{ m(opts) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}{% set m = 3 %}{{ m }}",
    "{% set m = 3 %}{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% with m = question %}{{ m }}{% endwith %}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}{{ m(question) | length }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% filter upper %}{{ m(question) }}{% endfilter %}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(*opts) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(**{'x': question}) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) ~ '' }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(m(question)) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question ~ '!') }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(opts[0]) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% if m(question) %}Y{% endif %}",
    "{% macro m(x) %}{{ x | length }}{% endmacro %}{{ m(question) }}",
    "{{ question }}{{ question.upper() }}",
    "{{ loop }}{{ question }}",
    "{% for o in opts %}{{ o }}{% endfor %}{{ loop }}",
    "{% for o in opts %}{% for p in o %}{{ loop.index }}{% endfor %}{% endfor %}",
    "{% for o in opts %}{{ o }}{{ loop.index0 }}{% if loop.last %}.{% endif %}{% endfor %}",
    "{{ question | truncate(5) }}",
    "{{ question | wordcount }}",
    "{{ question is string }}{{ question }}",
    "{{ question is defined }}{{ question }}",
    "{{ question | default('x', true) }}",
    "{% if opts %}{{ opts | length }}{% endif %}",
    "{{ caller }}{{ question }}",
    "{{ varargs }}{{ question }}",
    "{{ kwargs }}{{ question }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}{{ m(question, 1) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m() }}",
    "{% for o in opts %}{{ o }}{% endfor %}{{ opts | join(', ') }}",
    "{% for o in opts %}{{ o }}{% endfor %}{{ opts | first }}",
    "{% for o in opts %}{{ o }}{% endfor %}{{ opts | sort | list }}",
    "{% for o in opts %}{{ o }}{% if o == opts[0] %}*{% endif %}{% endfor %}",
    "{% for o in opts %}{{ o }}{% if o in question %}*{% endif %}{% endfor %}",
    "{% for o in opts %}{{ o }}{% if o | length > 3 %}*{% endif %}{% endfor %}",
    "{% for o in opts %}{{ loop.cycle(*opts) }}{% endfor %}",
    "{% for o in opts | reverse %}{{ o }}{% endfor %}",
    "{% for o in opts | unique %}{{ o }}{% endfor %}",
    "{% for o in opts[1:] %}{{ o }}{% endfor %}",
    "{% for o in opts %}{{ o }}{% endfor %}{% for o in opts %}{{ o | upper }}{% endfor %}",
    "{% for o in opts %}{{ o }}{{ question }}{% endfor %}",
    "{% for question in opts %}{{ question }}{% endfor %}{{ question }}",
    "{% for o in opts %}{% set question = o %}{{ question }}{% endfor %}{{ question }}",
    "{% set question = question ~ '!' %}{{ question }}",
    "{% if question %}{% set x = question %}{% endif %}{{ x }}",
    "{{ question | safe }}",
    "{{ question | string }}",
    "{{ question ~ '' }}",
    "{{ question }}{{ question }}{{ question }}",
    "{% raw %}{{ question }}{% endraw %}{{ question }}",
    "{{- question -}}  x  {{- question }}",
    "{% macro m(a, b) %}{{ b }}{{ a }}{% endmacro %}{{ m(question, opts[0]) }}",
    "{% macro m(a) %}{% for o in a %}{{ o }}{% endfor %}{% endmacro %}{{ m(opts) }}{{ m(question) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% for o in opts %}{{ m(o) }}{% endfor %}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% for loop in opts %}{{ m(loop) }}{% endfor %}",
    "{% macro m(loop) %}{{ loop.index }}{% endmacro %}{% for o in opts %}{{ m(loop) }}{% endfor %}",
    "{% macro m(loop) %}{{ loop }}{% endmacro %}{% for o in opts %}{{ m(o) }}{% endfor %}",
    "{% for o in opts %}{% macro_m = 1 %}{% endfor %}",
    "{% for o in opts %}{% for o in opts %}{{ o }}{% endfor %}{{ o }}{% endfor %}",
    "{% for o in opts %}{% for p in opts %}{{ loop.index }}{% endfor %}{{ loop.length }}{% endfor %}",
    "{% for o in opts %}{% with loop = o %}{{ loop }}{% endwith %}{% endfor %}",
    "{% for o in opts %}{% set loop = o %}{{ loop }}{% endfor %}",
    "{% set loop = question %}{{ loop }}",
    "{% with loop = question %}{{ loop }}{% endwith %}",
    "{% with loop = opts %}{% for o in loop %}{{ o }}{% endfor %}{% endwith %}",
    "{% for o in opts %}{{ o }}{% set x = loop.index %}{% endfor %}",
    "{% macro m() %}{{ question }}{% endmacro %}{% for o in opts %}{{ m() }}{% endfor %}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% set y = m(question) %}{{ y }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question)[0] }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) == 'abc' }}",
    "{% macro m(x) %}{{ caller(x) }}{% endmacro %}{% call(y) m(question) %}{{ y | upper }}{% endcall %}",
    "{% macro m(x) %}{% if caller %}{{ caller() }}{% endif %}{{ x }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) if m else '' }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) if question else m('zz') }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ (m)(question) | length }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% set n = namespace(f=m) %}{{ n.f(question) | upper }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ dict(f=m).f(question) | upper }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ {'f': m}['f'](question) | upper }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ (m,)[0](question) | upper }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m is callable }}{{ m(question) }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ question | map(m) | join }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ opts | map(m) | join | upper }}",
    "{% macro m() %}{{ question }}{% endmacro %}{{ m() }}{{ self }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(question) }}{{ m(opts) }}",
    "{% macro m(x) %}{% set y = x %}{{ y }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{% set x = x | upper %}{{ x }}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{% for x in [x | upper] %}{{ x }}{% endfor %}{% endmacro %}{{ m(question) }}",
    "{% macro m(x) %}{% with x = x | upper %}{{ x }}{% endwith %}{% endmacro %}{{ m(question) }}",
    "{% set x = question %}{% set x = x | upper %}{{ x }}",
    "{% for o in opts %}{% set o = o | upper %}{{ o }}{% endfor %}",
    "{% with x = question %}{% set x = x | upper %}{{ x }}{% endwith %}",
    "{% set q = question %}{% for o in opts %}{% set q = o %}{% endfor %}{{ q }}",
    "{% set ns = namespace(q=question) %}{% set ns.q = ns.q | upper %}{{ ns.q }}",
    "{% set x, y = question, opts %}{{ x }}{{ y | upper }}",
    "{% set x, y = opts %}{{ x | upper }}{{ y }}",
]


@pytest.mark.parametrize("text", SHAPE_CASES, ids=range(len(SHAPE_CASES)))
def test_shaped_render_is_the_plain_render(text: str) -> None:
    """Macros in filter arguments, caller/varargs/kwargs, macro names shadowed by loop or set
    variables, `loop` in nested loops and as a plain name, rebinding: each record twice through one
    renderer (the second from its shape) equals the plain render, output or error."""
    renderer = ShapeRenderer()
    for values in RECORDS * 2:
        assert _shaped(renderer, text, values) == _plain(text, values), (text, values)


def _nest(open_: str, close: str, n: int, inner: str = "{{ question }}") -> str:
    return open_ * n + inner + close * n


def _outcome(text: str) -> list[str]:
    """What lint (variables), the plain render and the shaped render make of `text`: 'ok' or
    'TemplateError'; any other exception (SyntaxError, RecursionError) fails the test."""
    out = []
    values = {"question": "abc", "opts": ["a"]}
    for step in (
        lambda: template_variables(text),
        lambda: compile_template(text).render(**values),
        lambda: render_shaped(text, values),
    ):
        try:
            step()
            out.append("ok")
        except TemplateError:
            out.append("TemplateError")
    return out


M = "{% macro m(x) %}{{ caller(x) }}{% endmacro %}"
ACCEPTED = {
    "16 nested if": _nest("{% if question %}", "{% endif %}", 16),
    "16 nested for, loop and else": _nest("{% for o in opts %}{{ loop.index }}", "{% else %}e{% endfor %}", 16),
    "300 elifs": "{% if question == 'a' %}a"
    + "".join(f"{{% elif question == '{i}' %}}{i}" for i in range(300))
    + "{% else %}z{% endif %}",
    "500 sibling ifs": "{% if question %}x{% endif %}" * 500,
    "100 nested set blocks": _nest("{% set x %}", "{% endset %}{{ x }}", 100),
    "100 nested autoescape": _nest("{% autoescape true %}", "{% endautoescape %}", 100),
    "15 nested call blocks": M + _nest("{% call(y) m(question) %}", "{% endcall %}", 15, "{{ y }}"),
    "15 blocks mixed": M
    + _nest(
        "{% call(y) m(question) %}{% for o in opts %}{% if o %}{% filter upper %}{% with z = o %}",
        "{% endwith %}{% endfilter %}{% endif %}{% endfor %}{% endcall %}",
        3,
        "{{ z }}",
    ),
    "16 for with inline if, loop.cycle": _nest(
        "{% for o in opts %}{% for p in opts if p %}",
        "{% else %}e{% endfor %}{% endfor %}",
        8,
        "{{ loop.index }}{{ loop.cycle(1, 2) }}",
    ),
    "3000 concatenations": "{{ question" + " ~ question" * 3000 + " }}",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_real_templates_are_not_refused(text: str) -> None:
    assert _outcome(text) == ["ok", "ok", "ok"]


REFUSED = {
    "17 nested if": _nest("{% if question %}", "{% endif %}", MAX_BLOCK_NESTING + 1),
    "100 nested if in a macro": "{% macro m() %}"
    + _nest("{% if question %}", "{% endif %}", 100)
    + "{% endmacro %}{{ m() }}",
    "30 nested for": _nest("{% for o in opts %}", "{% endfor %}", 30),
    "250 chained conditional expressions": "{{ " + "question if question else " * 250 + "'x' }}",
    "400 filters": "{{ question" + "|upper" * 400 + " }}",
    "400 not": "{{ " + "not " * 400 + "question }}",
    "1500 additions": "{{ 1" + " + 1" * 1500 + " }}",
    "1500 and": "{{ question" + " and question" * 1500 + " }}",
    "2000 attributes": "{{ question" + ".x" * 2000 + " }}",
    "400 tests": "{{ " + "question is not none and " * 400 + "1 }}",
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_deep_templates_are_a_template_error_never_a_python_one(text: str) -> None:
    assert _outcome(text) == ["TemplateError"] * 3


def test_nesting_error_names_the_line_of_the_deepest_block() -> None:
    text = "".join("{% if question %}\n" for _ in range(MAX_BLOCK_NESTING + 1)) + "x" + "{% endif %}" * 17
    with pytest.raises(TemplateError) as info:
        template_variables(text)
    assert info.value.line == MAX_BLOCK_NESTING + 1


def test_shaped_turns_split_like_plain_turns() -> None:
    """Random templates of markers, holes and marker pieces; values holding markers, pieces of
    markers, newlines, CR, U+2028: split_shaped_turns = split_turns (turns or error)."""
    pieces = ["<|tsqa:user|>", "<|tsqa:assistant|>", "<|tsqa:system|>", "\n", " ", "x", "{{ a }}", "{{ b }}"]
    pieces += ["<|tsqa:", "user|>", "<", "|>", "\t", "{% for o in c %}{{ o }}{% endfor %}"]
    values = ["<|tsqa:user|>", "\n<|tsqa:user|>\n", "<|tsq", "a:user|>", "\n", " ", "hello", "<", "|tsqa:user|>"]
    values += ["\r", "\u2028", "x\n", "\n\n", "user|>", "<|tsqa:assistant|>\n"]

    def run(f: Any) -> tuple[str, Any]:
        try:
            return "ok", f()
        except PromptShapeError as exc:
            return "error", str(exc)

    rng = random.Random(11)
    compared = 0
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(2, 12)))
        renderer = ShapeRenderer()
        for _ in range(4):
            v = {
                "a": rng.choice(values),
                "b": rng.choice(values),
                "c": [rng.choice(values) for _ in range(rng.randrange(3))],
            }
            try:
                out, shape, holes = renderer.render_parts(text, v)
            except Exception:
                continue
            if shape is None:
                continue
            compared += 1
            assert run(lambda: split_shaped_turns(out, shape, holes)) == run(lambda: split_turns(out)), (text, v)
    assert compared > 1000
