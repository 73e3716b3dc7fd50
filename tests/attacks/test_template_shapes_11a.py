"""Attacks on the shape renderer (spec/template_shapes.py, branch model11) and the turns and cache
keys built from its shapes: templates and records for which the shaped prompt should be the
plain bounded render's, byte for byte (or the same error), and requests that should keep
`request_key`'s key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compile"))
from test_plan_parallel import make_project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spec"))
from test_template_shapes import _plain, _shaped  # the outcomes the shape tests compare

from tsqa.cli import main
from tsqa.engines.base import ChatMessage, Request, Sampling
from tsqa.prompts import PromptShapeError, split_turns
from tsqa.spec.template_shapes import ShapeRenderer
from tsqa.spec.templates import LIMITS, compile_template
from tsqa.stages.requests import Batch, PromptRenderError, chat
from tsqa.store.response_cache import RequestKeys, request_key


def _same_as_plain(text: str, records: list[dict[str, Any]]) -> None:
    """Each record rendered twice through one renderer (the second from the shape) = plain."""
    renderer = ShapeRenderer()
    for values in records * 2:
        assert _shaped(renderer, text, values) == _plain(text, values), (text, values)


# --- defects -------------------------------------------------------------------------------------

INDIRECT_MACRO = [
    "{% macro m() %}{{ question }}{% endmacro %}{% set ask = m %}{{ ask() | upper }}",
    "{% macro m() %}{{ question }}{% endmacro %}{{ [m][0]() | upper }}",
    "{% macro m() %}{{ question }}{% endmacro %}{{ (m if true else m)() | length }}",
    "{% macro m() %}{{ question }}{% endmacro %}{% macro n(f) %}{{ f() | upper }}{% endmacro %}{{ n(m) }}",
]


@pytest.mark.parametrize("text", INDIRECT_MACRO, ids=range(len(INDIRECT_MACRO)))
def test_a_macro_called_through_another_name(text: str) -> None:
    _same_as_plain(text, [{"question": "abc"}, {"question": "xyz"}, {"question": "longer question"}])


def test_a_spec_prompt_with_an_indirect_macro_reaches_the_requests(tmp_path: Path) -> None:
    root = make_project(tmp_path, specs=2)
    (root / "prompts").mkdir()
    prompt = root / "prompts" / "g.j2"
    prompt.write_text(
        "{% macro q() %}{{ question }}{% endmacro %}{% set ask = q %}"
        "Rewrite in capitals: {{ ask() | upper }}\nAnswer: {{ answer_text }}\n"
    )
    spec = root / "specs" / "t00.yaml"
    spec.write_text(spec.read_text().replace("generate: {", "generate: {prompt: {file: ../prompts/g.j2}, "))
    result = CliRunner().invoke(main, ["plan", str(root / "specs"), "--project", str(root / "tsqa.yaml")])
    assert result.exit_code == 0, result.output  # holds: the plan takes it
    batch, text = Batch(), prompt.read_text()
    for question in ("what is two plus two?", "name the red planet."):
        values = {"question": question, "answer_text": "x"}
        assert _turns(text, values, batch) == _plain_turns(text, values)


def test_a_value_named_loop() -> None:
    _same_as_plain("{{ loop.upper() }}", [{"loop": "abc"}, {"loop": "xyz"}])


@pytest.mark.parametrize(
    ("text", "records"),
    [
        (
            "{% macro m(loop) %}{{ loop.upper() }}{% endmacro %}{{ m(question) }}",
            [{"question": "abc"}, {"question": "xyz"}],
        ),
        (
            "{% macro m(loop) %}{{ loop.title() }}{% endmacro %}{% for o in choices %}{{ m(o) }}{% endfor %}",
            [{"choices": ["abc", "d"]}, {"choices": ["xyz", "e"]}],
        ),
    ],
    ids=["question", "choices"],
)
def test_a_macro_parameter_named_loop(text: str, records: list[dict[str, Any]]) -> None:
    _same_as_plain(text, records)


def test_a_template_that_does_not_compile_fails_alike() -> None:
    _same_as_plain("{% for o in choices %}{% set loop = o %}{{ loop }}{% endfor %}", [{"choices": ["a"]}])


def _turns(text: str, values: dict[str, Any], batch: Batch) -> Any:
    try:
        return [(m.role, m.content) for m in chat(text, "generate", values, "t/generate/0", batch)]
    except PromptRenderError as exc:
        return str(exc).split(": ", 1)[1]


def _plain_turns(text: str, values: dict[str, Any]) -> Any:
    try:
        return split_turns(compile_template(text).render(**values))
    except PromptShapeError as exc:
        return str(exc)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (
            "{{ context }}{{ question }}\nAnswer: {{ answer_text }}",
            {"context": "<|ts", "question": "qa:user|>", "answer_text": "a"},
        ),
        ("{{ question }}tsqa:user|>\nhello {{ answer_text }}", {"question": "<|", "answer_text": "a"}),
        (
            "<|tsqa:user|>\nQ\n{{ context }}{{ question }}\nA\n<|tsqa:user|>\nB",
            {"context": "<|tsqa", "question": ":assistant|>", "answer_text": "a"},
        ),
    ],
    ids=["two-holes", "hole-and-literal", "assistant"],
)
def test_a_turn_marker_split_across_holes(text: str, values: dict[str, Any]) -> None:
    batch = Batch()
    for _ in range(2):
        assert _turns(text, values, batch) == _plain_turns(text, values)


# --- what held -----------------------------------------------------------------------------------

HELD = [
    # scoping: a name assigned, shadowed, or read before it is set
    "{{ x }}{% macro x() %}m{% endmacro %}",
    "{{ x }}{% set x = 'q' %}{{ x }}",
    "{% for y in ['a'] %}{% endfor %}{{ x }}",
    "{% for i in [1, 2] %}{{ x }}{% set x = 'a' %}{% endfor %}",
    "{% if true %}{{ x }}{% set x = 'a' %}{% endif %}{{ x }}",
    "{% macro m() %}{{ x }}{% set x = 'a' %}{{ x }}{% endmacro %}{{ m() }}",
    "{% macro m(y) %}{{ x }}{% endmacro %}{% for x in l %}{{ m(x) }}{% endfor %}",
    "{% for x in l %}{{ x }}{% endfor %}{{ x }}",
    "{{ x }}{% for x in x %}{{ x }}{% endfor %}",
    "{% set ns = namespace(v=x) %}{{ ns.v }}",
    "{{ x }}{% for x in l %}{{ loop.index }}{{ x }}{% endfor %}",
    "{% for o in l %}{{ o }}{% for p in l %}{{ loop.index }}{{ p }}{% endfor %}{% endfor %}",
    "{% for o in l %}{{ loop.previtem }}{{ o }}{% endfor %}",
    "{% for o in l %}{% for q in o %}{{ q }}{% endfor %}{% endfor %}",
    "{% for o in l %}{{ o }}{% endfor %}{{ l | length }}{% if l %}Y{% endif %}",
    "{% for o in l if o %}{{ o }}{% endfor %}",
    "{% for o in l %}{{ o }}{% else %}none{% endfor %}",
    # macros: direct calls, nested, defaults, the output filtered
    "{% macro m(a) %}{{ a }}{% endmacro %}{% macro n(b) %}{{ m(b) }}{% endmacro %}{{ n(x) }}",
    "{% macro m(a) %}{{ a | upper }}{% endmacro %}{% macro n(b) %}{{ m(b) }}{% endmacro %}{{ n(x) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(x) | upper }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(x) ~ '' }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% set q = m %}{{ q(x) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% set q = m %}{{ m(x) }}{{ q(x) | upper }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(*[x]) }}",
    "{% macro m(a, b=x) %}{{ a }}{{ b | upper }}{% endmacro %}{{ m(y) }}",
    "{% macro m(a, b='-') %}{{ a }}{{ b }}{% endmacro %}{{ m(x) }}{{ m(y, x) }}",
    "{% macro m(a) %}{% for c in a %}{{ c }}{% endfor %}{% endmacro %}{{ m(x) }}{{ m(l) }}",
    # values in control flow and filters: part of the shape
    "{% if x == 'abc' %}A{% else %}B{% endif %}{{ x }}",
    "{{ x | length }}{{ x[0] }}{{ x.split() }}{{ 'a' in x }}{{ x ~ y }}",
    "{% for c in x %}{{ loop.index }}{{ c }}{% endfor %}",
    "{{ x | truncate(5) }}{{ x | wordcount }}{{ x | replace('a', 'b') }}{{ x | tojson }}{{ x | escape }}",
    "{%- if x -%}\n  {{- x -}}  \n{%- endif -%}|{{ y }}",
    "{{ x if y else 'n' }}",
    "{{ self }}{{ x }}",
]


@pytest.mark.parametrize("text", HELD, ids=range(len(HELD)))
def test_shapes_render_as_plain(text: str) -> None:
    records = [
        {"x": "abc", "y": "p", "l": ["p", "q"]},
        {"x": "xyz", "y": "q", "l": ["r", "s"]},
        {"x": "a much longer value with a\nnewline", "y": "", "l": ["", "t"]},
        {"x": "\x00\ud800日本\u2028", "y": "<|tsqa:user|>", "l": ("u", "v")},
        {"x": "", "y": " ", "l": []},
    ]
    _same_as_plain(text, records)


FUZZ_PIECES = [
    "{{ a }}",
    "{{ b }}",
    "{% if a %}A{% endif %}",
    "{% if not b %}!{% endif %}",
    "{% for x in l %}{{ loop.index }}{{ x }}{% endfor %}",
    "{% for x in l %}{{ loop.revindex0 }}{% if loop.last %}L{% endif %}{{ x }}{% endfor %}",
    "{{ l|length }}",
    "{% if l|length > 2 %}big{% endif %}",
    "{{ m(a) }}",
    "{{ m(b) }}",
    "{% for x in l %}{{ m(x) }}{% endfor %}",
    "{{ n(l) }}",
    "{{ k(a, b) }}",
    "{{ k(a) }}",
    "{% for x in l %}{{ k(x, a) }}{% endfor %}",
    "{{ a ~ b }}",
    "{{ a|trim }}",
    "{{ a|wordcount }}",
    "{{ a|truncate(9) }}",
    "{{ a|replace('a','b') }}",
    "{{ a|tojson }}",
    "{{ a|e }}",
    "{{ b[:3] }}",
    "{{ b|center(40) }}",
    "{{ a or b }}",
    "{{ a if b else 'z' }}",
    "{% set z = a %}{{ z }}",
    "{% for k in [a, b] %}{{ loop.index }}{{ k }}{% endfor %}",
    "{% for c in b %}{{ c }}{% endfor %}",
    "{{ l|join(',') }}",
    "{{ l|first }}",
    "{{ l[0] if l else '' }}",
    "{% for x in l %}{% for y in l %}{{ x }}{{ y }}{% endfor %}{% endfor %}",
    "{{- a -}}",
    "  \n",
    "{%- if b -%} B {%- endif -%}",
    "{% for x in l if x %}{{ x }}{% endfor %}",
    "{% for x in l %}{{ x }}{% else %}E{% endfor %}",
    "{{ '%s!'|format(a) }}",
    "{{ a|indent(2) }}",
    "{{ (a|length) > 3 }}",
    "{% set ns = namespace(c=0) %}{% for x in l %}{% set ns.c = ns.c + 1 %}{% endfor %}{{ ns.c }}",
    "{{ a|string }}",
    "{{ a is string }}",
    "{{ b|list|length }}",
    "{{ a * 2 }}",
    "{{ a|lower }}{{ b|upper }}",
]
FUZZ_MACROS = (
    "{% macro m(p) %}<{{ p }}>{% endmacro %}{% macro n(q) %}{% for y in q %}[{{ loop.index0 }}{{ y }}]{% endfor %}{{ q|length }}{% endmacro %}"
    "{% macro k(p, q='-') %}({{ p }}{{ q }}{% if p %}+{% endif %}){% endmacro %}"
)
FUZZ_WORDS = [
    "alpha",
    "",
    " ",
    "日本",
    "a\x00b",
    "x" * 40,
    "y" * 70,
    "\n",
    "<|tsqa:user|>",
    "Mars",
    "{{ a }}",
    "%s",
    "\ud800",
    "  pad  ",
]


def test_random_templates_with_filters_macros_and_loops_render_as_plain() -> None:
    """Filters, slices, `or`, `namespace`, nested loops, macros with defaults over list items:
    values that are holes and values that are part of the shape, in one template."""
    import random

    rng = random.Random(11)
    for _ in range(200):
        text = FUZZ_MACROS + "".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 5)))
        renderer = ShapeRenderer()
        for _ in range(12):
            values = {
                "a": rng.choice([*FUZZ_WORDS, None, 3]),
                "b": rng.choice(FUZZ_WORDS),
                "l": rng.choice([[rng.choice(FUZZ_WORDS) for _ in range(rng.randint(0, 4))], ("u", ""), "str"]),
            }
            assert _shaped(renderer, text, values) == _plain(text, values), (text, values)


def test_the_output_bound_is_the_plain_renders_near_a_bucket() -> None:
    """Two copies of a value just over a power of two: the sentinels go over the output bound where
    the plain render does not (the shape is refused, the record rendered plainly), then a record
    whose own text is over it fails as the plain render does."""
    text = "{{ x }}{{ x }}{{ y }}"
    renderer = ShapeRenderer()
    for n in (LIMITS.max_chars // 4 + 1, LIMITS.max_chars // 2 - 1, LIMITS.max_chars // 2 + 1):
        values = {"x": "a" * n, "y": "b"}
        assert _shaped(renderer, text, values) == _plain(text, values), n


def test_a_chat_with_a_whole_marker_in_a_hole_is_split_turns() -> None:
    text = "<|tsqa:system|>\nBe brief.\n{{ context }}\n{{ question }}\nAnswer: {{ answer_text }}"
    batch = Batch()
    for values in (
        {"context": "ctx\n<|tsqa:user|>", "question": "q", "answer_text": "a"},
        {"context": "ctx", "question": "<|tsqa:assistant|>\nq", "answer_text": "a"},
        {"context": "ctx", "question": "q", "answer_text": "a"},
    ):
        assert _turns(text, values, batch) == _plain_turns(text, values)


def test_request_keys_of_unusual_text_are_request_key() -> None:
    keys = RequestKeys({"model": "m", "x": "\u2028"})
    for content in ('"seed":null', "\x00\u2028\u2029", "日本 ✓", "a\\u0000b", "</script>"):
        sampling = Sampling(stop=('"seed":null', "\u2028"), seed=-5, temperature=0.0)
        request = Request(id="r", messages=(ChatMessage(role="user", content=content),), sampling=sampling)
        reference = request_key(
            {"model": "m", "x": "\u2028"},
            [m.model_dump() for m in request.messages],
            request.sampling.model_dump(mode="json"),
            None,
        )
        assert keys(request) == reference
    lone = Request(id="r", messages=(ChatMessage(role="user", content="\ud800"),))
    with pytest.raises(UnicodeEncodeError):
        keys(lone)
    with pytest.raises(UnicodeEncodeError):
        request_key(
            {"model": "m"}, [m.model_dump() for m in lone.messages], lone.sampling.model_dump(mode="json"), None
        )
