"""Class: the plan's prompt token counts and its "prompt fails on every sampled row" refusal
(branch s12: prompts rendered through `template_shapes.render_shaped`, once per shape of their
values). Each count must be the plain bounded render's (main: `compile_template(text).render`),
and a row must fail exactly when the plain render fails, on templates whose output or failure
depends on value contents the shape may hide: lengths near the output bound, values a filter or a
comparison reads, numbers of every type, lists of empty strings, undefined and None values."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tsqa.compile.prompt_tokens import PromptRenders
from tsqa.compile.tokens import TokenCounter
from tsqa.prompts import BUILTIN_PROMPTS, builtin_prompt_text
from tsqa.spec.templates import LIMITS, compile_template
from tsqa.stages.requests import STAGE_VARIABLES

ALLOWED = frozenset(STAGE_VARIABLES["generate"]) | frozenset(STAGE_VARIABLES["solve"]) | {"variant"}
HALF = LIMITS.max_chars // 2

TEMPLATES = {
    "printed twice": "{{ question }}|{{ question }}",
    "near the output bound": "{{ question }}{{ question }}{{ context }}",
    "a filter reads it": "{{ question | upper }} {{ question | length }}",
    "a failure on a value": "{{ question }}{{ (1 / (choices | length - 2)) | round }}",
    "a comparison": "{% if answer == 1 %}one{% elif answer %}{{ answer }}{% else %}none{% endif %}{{ question }}",
    "loop with index": "{% for c in choices %}{{ loop.index }}. {{ c }}\n{% endfor %}{{ answer_text }}",
    "truth tests": "{% if context %}[{{ context }}]{% endif %}{% if question %}{{ question }}{% endif %}",
    "undefined attribute": "{{ question }}{{ example.question }}",
    "macro": "{% macro q(x) %}<{{ x }}>{% endmacro %}{{ q(question) }}{% for c in choices %}{{ q(c) }}{% endfor %}",
    **{f"builtin {name}": builtin_prompt_text(name) for name in sorted(BUILTIN_PROMPTS)},
}


def _row(rng: random.Random) -> dict[str, Any]:
    size = rng.choice([0, 1, 5, 31, 32, 33, 64, 100, HALF - 40, HALF - 1, HALF, HALF + 1])
    row: dict[str, Any] = {
        "task": "bench",
        "format": rng.choice(["multiple_choice", "short_answer"]),
        "description": rng.choice([None, "", "d"]),
        "per_seed": 2,
        "group": None,
        "question": (rng.choice(["", "é", "<|tsqa:user|>", "a\x00b"]) + "q" * size)[:size],
        "choices": [rng.choice(["", "x", "yy" * rng.randint(1, 40)]) for _ in range(rng.choice([0, 2, 3, 4]))],
        "answer": rng.choice([0, 1, 1.0, True, False, None, "1", 2**70, -0.0, 0.0]),
        "answer_text": rng.choice(["", "t", "u" * 300]),
        # Unread values stay small: the input bound counts every value, read or not (see below).
        "context": rng.choice([None, "", "c" * rng.choice([1, 40, 1000])]),
        "answer_by": rng.choice(["letter", "text"]),
        "variant": rng.choice(["reasoning", "knowledge"]),
    }
    if rng.random() < 0.7:
        row["example"] = {"question": "eq", "choices": ["a", "b"], "answer_text": "a", "answer_index": 0}
    if rng.random() < 0.1:
        row["choices"] = tuple(row["choices"])
    if rng.random() < 0.05:
        del row["question"]
    return row


def _plain_count(text: str, row: dict[str, Any], counter: TokenCounter) -> int | None:
    try:
        rendered = compile_template(text).render(**{k: v for k, v in row.items() if k in ALLOWED})
    except Exception:  # a failed render is a skipped row, as in the plan
        return None
    return counter.count_prompt(rendered)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_prompt_token_counts_are_the_plain_renders(name: str) -> None:
    text = TEMPLATES[name]
    rng = random.Random(name)
    # A counter that sees every character (a tokenizer could): any difference in the text shows.
    counter = TokenCounter("exact-chars", lambda t: len(t) * 7 + sum(map(ord, t)) % 1009)
    renders = PromptRenders()
    outcomes = set()
    for _ in range(150):
        row = _row(rng)
        want = _plain_count(text, row, counter)
        assert renders.count(text, row, ALLOWED, counter) == want, (name, {k: str(v)[:40] for k, v in row.items()})
        keys = PromptRenders.keys(row)
        assert renders.count_rows(text, [(row, keys)], {}, ALLOWED, counter) == [want]
        outcomes.add(want is None)
    if name in ("a failure on a value", "near the output bound"):
        assert outcomes == {True, False}  # the rows reach both answers


def test_a_row_over_the_input_bound_is_not_counted_from_the_cache() -> None:
    counter = TokenCounter("chars", len)
    text = "{{ question }}"
    small = {"question": "q", "context": "c"}
    huge = {"question": "q", "context": "c" * (LIMITS.max_input_chars + 1)}
    assert _plain_count(text, huge, counter) is None
    renders = PromptRenders()
    assert renders.count(text, small, ALLOWED, counter) == _plain_count(text, small, counter)
    assert renders.count(text, huge, ALLOWED, counter) is None
