"""The plan's render cache: the same (template, values it reads) renders once; any value that
could render differently renders again."""

from __future__ import annotations

from typing import Any

import pytest

from tsqa.compile.prompt_tokens import PromptRenders
from tsqa.compile.tokens import TokenCounter

ALLOWED = frozenset({"question", "choices", "answer", "example"})


def counting() -> tuple[TokenCounter, list[str]]:
    seen: list[str] = []

    def count(text: str) -> int:
        seen.append(text)
        return len(text)

    return TokenCounter("test", count), seen


def test_same_read_values_render_once_whatever_the_unread_ones() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    text = "Q: {{ question }}"
    first = renders.count(text, {"question": "2+2?", "answer": 1}, ALLOWED, counter)
    again = renders.count(text, {"question": "2+2?", "answer": 2, "seed_id": "x"}, ALLOWED, counter)
    assert first == again == len("Q: 2+2?") + 12
    assert seen == ["Q: 2+2?"]
    assert renders.count(text, {"question": "3+3?"}, ALLOWED, counter) == len("Q: 3+3?") + 12
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        (1, True),
        (1, "1"),
        (["a"], ("a",)),
        (None, "None"),
        ([1], [True]),
        ({"k": 1}, {"k": 1.0}),
    ],
)
def test_values_that_print_differently_key_apart(a: Any, b: Any) -> None:
    counter, seen = counting()
    renders = PromptRenders()
    text = "{{ question }}"
    renders.count(text, {"question": a}, ALLOWED, counter)
    renders.count(text, {"question": b}, ALLOWED, counter)
    assert seen == [str(a), str(b)]


def test_absent_and_not_allowed_variables_are_not_defined() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    text = "{% if example is defined %}E{{ example }}{% else %}none{% endif %}"
    assert renders.count(text, {}, ALLOWED, counter) == len("none") + 12
    assert renders.count(text, {"example": None}, ALLOWED, counter) == len("ENone") + 12
    # A variable the stage may not see is absent, even when the record holds it.
    assert renders.count(text, {"example": "x"}, frozenset({"question"}), counter) == len("none") + 12
    assert seen == ["none", "ENone", "none"]


def test_stages_that_pass_other_variables_key_apart() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    text = "{{ question if question is defined else '' }}|{{ answer if answer is defined else '' }}"
    assert renders.count(text, {"question": "x", "answer": "x"}, frozenset({"question"}), counter) == 2 + 12
    assert renders.count(text, {"question": "x", "answer": "x"}, frozenset({"answer"}), counter) == 2 + 12
    assert seen == ["x|", "|x"]


def test_keys_given_by_the_caller_are_used() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    values = {"question": "q", "seed_id": "1"}
    keys = renders.keys(values)
    assert keys == {"question": "q", "seed_id": "1"}
    renders.count("{{ question }}", values, ALLOWED, counter, keys)
    renders.count("{{ question }}", {"question": "q", "seed_id": "2"}, ALLOWED, counter)
    assert seen == ["q"]
    assert renders.keys({"question": {1}}) is None


def test_failed_renders_are_none_and_cached() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    assert renders.count("{{ question.missing }}", {"question": "q"}, ALLOWED, counter) is None
    assert renders.count("{{ question.missing }}", {"question": "q"}, ALLOWED, counter) is None
    assert renders.count("{% if %}", {"question": "q"}, ALLOWED, counter) is None
    assert seen == []


def test_other_value_types_render_without_the_cache() -> None:
    counter, seen = counting()
    renders = PromptRenders()
    value = {1, 2}  # not keyed: rendered each time
    renders.count("{{ question | length }}", {"question": value}, ALLOWED, counter)
    renders.count("{{ question | length }}", {"question": value}, ALLOWED, counter)
    assert seen == ["2", "2"]


def test_count_rows_is_count_of_each_row_with_extra() -> None:
    """The compiler's batch form gives what `count` gives row by row (extra variables merged)."""
    allowed = ALLOWED | {"variant"}
    text = "{{ variant }}: {{ question }}{% if choices %} ({{ choices|length }}){% endif %}"
    rows: list[dict[str, Any]] = [
        {"question": "2+2?", "choices": ["3", "4"], "seed_id": "a"},
        {"question": "2+2?", "choices": ["3", "4"], "seed_id": "b"},  # same read values: one render
        {"question": "3+3?", "choices": [], "seed_id": "c"},
        {"question": object(), "seed_id": "d"},  # no key: rendered, not cached
        {"question": "{{", "choices": None},
    ]
    counter, seen = counting()
    batch = PromptRenders().count_rows(
        text, [(r, PromptRenders.keys(r)) for r in rows], {"variant": "v"}, allowed, counter
    )
    one_counter, _ = counting()
    single = PromptRenders()
    expected = [
        single.count(
            text,
            {**r, "variant": "v"},
            allowed,
            one_counter,
            None if (k := PromptRenders.keys(r)) is None else {**k, "variant": "v"},
        )
        for r in rows
    ]
    assert batch == expected
    assert expected[0] is not None and expected[0] == expected[1]
    assert expected[3] is None  # an object prints its address: the render fails, uncached
    assert len(seen) == 3  # rows a and b share one render
    assert PromptRenders().count_rows("{{ broken", [(rows[0], None)], {"variant": "v"}, allowed, counter) == [None]
