"""The shape renderer (spec/template_shapes.py) gives what the plain bounded render gives: the same
text, or the same error, on the built-in prompts and on random templates and records (each
rendered both ways, many records per shape so that most renders are served from a shape)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tsqa.prompts import BUILTIN_PROMPTS, PromptShapeError, builtin_prompt_text, split_shaped_turns, split_turns
from tsqa.spec.template_shapes import ShapeRenderer, _plan
from tsqa.spec.templates import LIMITS, compile_template

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "",
    " ",
    "  pad  ",
    "x\n",
    "\n",
    "<|tsqa:user|>",
    "\n<|tsqa:user|>\n",
    "日本",
    "a\x00b",
]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(WORDS)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) + "x" * rng.choice([0, 3, 40, 200])


def _record(rng: random.Random, examples: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "task": rng.choice(["bench", "arc_easy", ""]),
        "description": rng.choice([None, "", "a task"]),
        "format": rng.choice(["multiple_choice", "short_answer", "code"]),
        "per_seed": rng.choice([1, 2, 3]),
        "group": rng.choice([None, "g"]),
        "question": _text(rng),
        "choices": [_text(rng) for _ in range(rng.choice([0, 2, 4, 5]))],
        "answer": rng.choice([0, 1, "x", None]),
        "answer_text": _text(rng),
        "context": rng.choice([None, "", _text(rng)]),
        "variant": rng.choice(["reasoning", "knowledge"]),
        "answer_by": rng.choice(["letter", "text"]),
    }
    if rng.random() < 0.8:
        values["example"] = rng.choice(examples)
        values["example_json"] = '{"questions":[{"question":"q"}]}'
    if rng.random() < 0.1:
        values["choices"] = tuple(values["choices"])
    if rng.random() < 0.05:
        del values["question"]  # undefined: an error, the same both ways
    return values


def _plain(text: str, values: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", compile_template(text).render(**values)
    except Exception as exc:
        return "error", (type(exc).__name__, str(exc))


def _shaped(renderer: ShapeRenderer, text: str, values: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", renderer.render(text, values)
    except Exception as exc:
        return "error", (type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", sorted(BUILTIN_PROMPTS))
def test_builtin_prompts_render_as_plain(name: str) -> None:
    rng = random.Random(name)
    text = builtin_prompt_text(name)
    examples = [
        {"question": _text(rng), "choices": [_text(rng) for _ in range(4)], "answer_text": "b", "answer_index": i % 4}
        | {"context": rng.choice([None, _text(rng)])}
        for i in range(4)
    ]
    renderer = ShapeRenderer()
    plan = _plan(text)
    assert plan is not None  # the built-in prompts all have holes
    hits = plan.hits
    for i in range(600):
        values = _record(rng, examples)
        if i % 3:  # a task's records: one task, format and sampling, questions of similar sizes
            values |= {"task": "bench", "format": "multiple_choice", "description": None, "per_seed": 2}
            values |= {"question": f"Question {i}: " + "w" * rng.randint(30, 60), "variant": "reasoning"}
            values |= {"choices": [f"option {i}.{k}" for k in range(4)], "answer_by": "letter"}
            values |= {"context": None, "answer_text": f"option {i}.1", "example": examples[i % 2]}
        assert _shaped(renderer, text, values) == _plain(text, values), values
    assert plan.hits - hits > 300  # most renders came from a shape


def test_prompt_turns_of_a_shape_are_split_turns() -> None:
    """The turns found once per shape are those of the text (holes holding markers, whitespace at
    a turn's edge and empty holes included)."""
    rng = random.Random(7)
    texts = [
        builtin_prompt_text("solve"),
        builtin_prompt_text("similar_question"),
        "<|tsqa:user|>\n{{ question }}",
        "{{ question }}\n<|tsqa:user|>\n{{ answer_text }}",
        "<|tsqa:system|>\n{{ question }}<|tsqa:user|>\n{{ answer_text }}\n<|tsqa:assistant|>{{ context }}\n<|tsqa:user|>\nq",
        "{{ question }}",
        "<|tsqa:user|>  \n{{ question }}\n<|tsqa:assistant|>\n{{ answer_text }}\n<|tsqa:user|>\n{{ context }}",
    ]
    renderer = ShapeRenderer()
    examples = [{"question": "q", "choices": ["a", "b"], "answer_text": "a", "answer_index": 0, "context": None}]
    for _ in range(400):
        text = rng.choice(texts)
        values = _record(rng, examples)
        try:
            out, shape, holes = renderer.render_parts(text, values)
        except Exception:
            continue
        assert out == compile_template(text).render(**values)
        try:
            expected: Any = split_turns(out)
        except PromptShapeError as exc:
            expected = str(exc)
        if shape is None:
            continue
        try:
            got: Any = split_shaped_turns(out, shape, holes)
        except PromptShapeError as exc:
            got = str(exc)
        assert got == expected, (text, values)


# Random templates from pieces that use a value in every way the analysis knows (printed, tested,
# iterated, measured, passed to a macro) and in ways that make it part of the shape (filters,
# comparisons, concatenation, attributes, loop items compared, `loop.cycle`).
PIECES = [
    "{{ a }}",
    "{{ b }}",
    "{% if a %}A{% endif %}",
    "{% if not b %}!B{% else %}B{% endif %}",
    "{% for x in l %}{{ loop.index0 }}:{{ x }};{% endfor %}",
    "{% for x in l %}{% if x %}[{{ x }}]{% endif %}{% endfor %}",
    "{{ l | length }}",
    "{{ a | upper }}",
    "{{ a ~ '!' }}",
    "{{ a == 'alpha' }}",
    "{{ a | length }}",
    "{{ l }}",
    "{% for x in l %}{{ x | upper }}{% endfor %}",
    "{% for x in l %}{{ loop.cycle('o', 'e') }}{{ x }}{% endfor %}",
    "{% for x in l %}{{ loop.previtem }}{% endfor %}",
    "{% for x in l %}{% if not loop.first %}{{ loop.previtem | length }}{% endif %}{% endfor %}",
    "{% for c in a %}{{ c }}.{% endfor %}",
    "{{ m(a, l) }}",
    "{{ m(b, []) }}",
    "{{ k(a) }}{{ k(b, a) }}",
    "{{ k(l) }}",
    "{{ d.k }}",
    "{% if d is defined %}D{% endif %}",
    "{% set s = a %}{{ s }}",
    "\n<|tsqa:user|>\n",
    " text ",
    "{{ 'x' * n }}",
    "{% for i in range(n) %}{{ a }}{% endfor %}",
]
MACRO = (
    "{% macro m(p, q) %}<{{ p }}{% for y in q %}|{{ y }}{% endfor %}{% if p %}+{% endif %}>{% endmacro %}"
    "{% macro k(p, q='-') %}({{ p }}{{ q }}){% endmacro %}"
)


def test_random_templates_render_as_plain() -> None:
    rng = random.Random(3)
    renderer = ShapeRenderer()
    for _ in range(150):
        text = MACRO + "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))
        for _ in range(20):
            values: dict[str, Any] = {
                "a": rng.choice([_text(rng), "", None, 3, 1.0, True, ["x"]]),
                "b": _text(rng),
                "l": rng.choice([[_text(rng) for _ in range(rng.randint(0, 4))], ("u", ""), [1, "x"], "str"]),
                "d": rng.choice([{"k": _text(rng)}, {"k": 1}]),
                "n": rng.choice([0, 2, 5]),
            }
            if rng.random() < 0.1:
                del values["b"]
            assert _shaped(renderer, text, values) == _plain(text, values), (text, values)


def test_bounds_are_the_plain_renders() -> None:
    """Over a bound either way: the same error, whether the shape was rendered before or not."""
    text = "{% for x in l %}{{ x }}{{ x }}{% endfor %}{{ a }}"
    renderer = ShapeRenderer()
    small = {"l": ["ab"] * 3, "a": "c"}
    assert renderer.render(text, small) == _plain(text, small)[1]
    big = LIMITS.max_chars // 4
    cases = [
        {"l": ["ab"] * 3, "a": "c" * (LIMITS.max_input_chars + 1)},  # input over its bound
        {"l": ["x" * big] * 3, "a": "c"},  # output over its bound (6 × max/4), input under
        {"l": ["x"] * (LIMITS.max_iterations + 1), "a": "c"},  # loop iterations
    ]
    for values in cases:
        plain = _plain(text, values)
        assert plain[0] == "error"
        assert _shaped(renderer, text, values) == plain
        assert _shaped(renderer, text, values) == plain  # the second time too: no shape was kept


def test_a_sentinel_is_never_shorter_than_its_value() -> None:
    """The output bound holds for a shape's records because a sentinel is at least as long as each
    value it stands for: a value just under the bound renders, the same as plainly."""
    text = "{{ a }}{{ a }}"
    renderer = ShapeRenderer()
    for size in (1, 31, 32, 33, 1000, LIMITS.max_chars // 2 - 1, LIMITS.max_chars // 2 + 1):
        values = {"a": "y" * size}
        assert _shaped(renderer, text, values) == _plain(text, values)


def test_templates_without_holes_render_plainly() -> None:
    for text in (
        "{% block b %}{{ a }}{% endblock %}",
        "{% set x %}{{ a }}{% endset %}{{ x }}",
        "{% filter upper %}{{ a }}{% endfilter %}",
        "{% macro m(p) %}{{ p }}{% endmacro %}{{ m(a) | upper }}",
        "{% macro m(p) %}{{ p }}{{ caller() }}{% endmacro %}{% call m(a) %}x{% endcall %}",
    ):
        assert _plan(text) is None, text
        assert _shaped(ShapeRenderer(), text, {"a": "v"}) == _plain(text, {"a": "v"})
