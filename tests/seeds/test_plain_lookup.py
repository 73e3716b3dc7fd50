"""The plain-lookup fast path of field templates (`{{ name }}`, `{{ name.key }}`) gives what Jinja
gives: the same value, the same text, the same error, under the same bounds, on every template
and document below (each rendered both ways)."""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from typing import Any

import pytest

from tsqa.seeds import rules
from tsqa.seeds.rules import compile_rule
from tsqa.spec.templates import LIMITS, RenderLimitError, compile_template, plain_lookup

TEMPLATES = [
    "{{ q }}",
    "{{q}}",
    "{{ q }}\n",  # Jinja drops one trailing newline: still the value alone
    "{{ q }}\n\n",
    " {{ q }}",
    "{{- q -}}",
    "{{ q }}{{ q }}",
    "{{ q.text }}",
    "{{ q.items }}",  # a dict method, not the key
    "{{ q.get }}",
    "{{ q.text.x }}",
    "{{ q['text'] }}",
    "{{ q|upper }}",
    "{{ (q) }}",
    "{{ range }}",  # a Jinja global, not in the document
    "{{ dict }}",
    "{{ nothing }}",
    "{{ nothing.text }}",
    "{{ true }}",
    "{{ none }}",
    "{% raw %}{{ q }}{% endraw %}",
    "{# c #}{{ q }}",
    "{{ q }}{# c #}",
]

BIG = "x" * (LIMITS.max_input_chars + 1)


class _Doc(dict):  # type: ignore[type-arg]
    """A dict subclass: not a plain dict, Jinja's lookup applies."""


VALUES: list[Any] = [
    "What is 2 + 2?",
    "",
    "<function f at 0x7f00deadbeef>",  # the input's own text may show an address
    7,
    2.5,
    True,
    None,
    ["a", "b"],
    ("a", "b"),
    {"text": "inner text", "x": 1},
    {"text": ["l", 1], "items": "shadowed"},
    {"label": "no text key"},
    OrderedDict(text="ordered"),
    _Doc(text="subclass"),
    BIG,
    [BIG[:600_000], BIG[:600_000]],
    10**5000,  # str() of it fails in Python itself
]


def _outcome(fn: Any, doc: Any) -> tuple[str, Any]:
    try:
        result = fn(doc)
    except Exception as err:
        return "error", (type(err).__name__, re.sub(r" at 0x[0-9a-f]+>", ">", str(err)))  # ast's own objects
    return "ok", (type(result).__name__, result)


def _rules(text: str, kind: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    make = lambda: compile_rule(text, kind, origin="fields.x", features=frozenset({"q"}), has_choices=kind != "plain")  # noqa: E731
    rules._compiled_rule.cache_clear()  # rules are cached per template: compile each way afresh
    fast = make()
    with monkeypatch.context() as m:
        m.setattr(rules, "plain_lookup", lambda source: None)  # Jinja every time
        rules._compiled_rule.cache_clear()
        slow = make()
    rules._compiled_rule.cache_clear()
    return fast, slow


def test_plain_lookup_recognises_only_plain_lookups() -> None:
    assert plain_lookup("{{ q }}") == ("q",)
    assert plain_lookup("{{q}}\n") == ("q",)
    assert plain_lookup("{{ q.text }}") == ("q", "text")
    for text in ("{{ q.items }}", "{{ q['text'] }}", "{{ q|upper }}", " {{ q }}", "{{ q }}{{ q }}", "{{ true }}", "{{"):
        assert plain_lookup(text) is None, text


@pytest.mark.parametrize("kind", ["text", "plain", "choice", "target"])
@pytest.mark.parametrize("text", TEMPLATES)
def test_fast_path_equals_jinja(text: str, kind: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        fast, slow = _rules(text, kind, monkeypatch)
    except Exception:
        with monkeypatch.context() as m:
            m.setattr(rules, "plain_lookup", lambda source: None)
            with pytest.raises(Exception):
                _rules(text, kind, monkeypatch)
        return
    docs: list[Any] = [{"q": v} for v in VALUES]
    docs += [{"q": v, "nothing": v} for v in VALUES[:3]]
    docs += [{"nothing": ["x", "y"]}, {"nothing": "1"}, {"nothing": {"text": "t"}}, {"nothing": {"text": ["t"]}}]
    docs += [{}, {"range": "shadowed global"}, {"dict": "x"}, _Doc(q="in a dict subclass"), {"q": "x", "big": BIG}]
    compared = 0
    for doc in docs:
        expected = _outcome(slow.evaluate, doc)
        got = _outcome(fast.evaluate, doc)
        assert got == expected, (text, kind, doc if len(str(doc)) < 200 else "(big)")
        compared += expected[0] == "ok"
    assert compared >= (1 if plain_lookup(text) else 0)  # values, not only errors, were compared
    assert fast.constant == slow.constant and fast.columns == slow.columns


def test_fast_path_taken_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path does run (no Jinja context is built) and still refuses oversized input."""
    fast, _ = _rules("{{ q }}", "plain", monkeypatch)
    calls = []
    template = compile_template("{{ q }}")
    monkeypatch.setattr(type(template), "new_context", lambda *a, **k: calls.append(a))
    assert fast.evaluate({"q": "hello"}) == "hello"
    assert calls == []
    with pytest.raises(RenderLimitError, match="template input is over"):
        fast.evaluate({"q": BIG})


@pytest.mark.parametrize(("a", "b"), list(itertools.product(["{{ q }}", "{{ q.text }}"], ["choice", "target"])))
def test_value_kinds_keep_the_object(a: str, b: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = _rules(a, b, monkeypatch)
    inner = ["x", "y"]
    doc = {"q": inner} if a == "{{ q }}" else {"q": {"text": inner}}
    assert fast.evaluate(doc) == inner
