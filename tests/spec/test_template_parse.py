"""A template is parsed once for its variables and its code: either use of the tree first gives
the same compiled code and the same variables as a fresh parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import meta

from tsqa.spec.templates import ENV, compile_template, template_variables

PROMPTS = sorted((Path(__file__).parents[2] / "python" / "tsqa" / "prompts").glob("*.j2"))
TEXTS = [p.read_text(encoding="utf-8") for p in PROMPTS] + [
    "{% for x in xs %}{{ loop.index }}{{ x ~ y }}{% endfor %}{% set a %}x{{ q }}{% endset %}{{ a|upper }}",
    "{% macro m(a) %}k{{ caller() }}{{ a }}{% endmacro %}{% call m(1) %}z{% endcall %}{{ 'a' * 3 }}",
    "a{{ b }}c{% filter upper %}d{{ e }}{% endfilter %}",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("first", ["variables", "compile"])
def test_shared_tree_compiles_the_same(text: str, first: str) -> None:
    fresh_code = ENV.compile(ENV.parse(text), raw=True)
    fresh_vars = meta.find_undeclared_variables(ENV.parse(text))
    tree = ENV.parse(text)
    if first == "variables":
        assert meta.find_undeclared_variables(tree) == fresh_vars
        assert ENV.compile(tree, raw=True) == fresh_code
    else:
        assert ENV.compile(tree, raw=True) == fresh_code
        assert meta.find_undeclared_variables(tree) == fresh_vars
        assert ENV.compile(tree, raw=True) == fresh_code


def test_cached_tree_serves_both() -> None:
    text = "{{ q }} and {{ r|upper }}"
    assert template_variables(text) == {"q", "r"}
    assert compile_template(text).render(q="1", r="x") == "1 and X"
