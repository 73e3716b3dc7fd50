"""Class: templates that would run for minutes or build gigabytes. Every render is bounded in time,
size and loop iterations; over a bound, that record fails with the reason and the others go on.
Literal bounds are caught by lint (`template-bounds`) before any data is read."""

from __future__ import annotations

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

from tsqa.spec.templates import RenderLimitError, compile_template

BOMBS = {
    "nested loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "loops over the data": "{% for a in q %}{% for b in q %}{% for c in q %}{% for d in q %}x{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "string times a big number": "{{ q * 100000000 }}",
    "list times a big number": "{{ [q] * 100000000 }}",
    "power": "{{ 9 ** 999999 }}",
    "power chain": "{% set n = 99 ** 999 %}{{ n * n * n }}",
    "center": "{{ q | center(999999999) }}",
    "format width": "{{ '%0999999999d' % 1 }}",
    "str.format width": "{{ '{:>999999999}'.format(q) }}",
    "nested format width": "{{ '{0:{1}}'.format(q, 999999999) }}",
    "ljust": "{{ q.ljust(999999999) }}",
    "replace amplification": "{% set a = q * 1000 %}{{ a.replace('', a) }}",
    "filter replace amplification": "{% set a = q * 1000 %}{{ a | replace('a', a) }}",
    "join of an aliased list": "{% set a = q * 20000 %}{{ ([a] * 10000) | join }}",
    "concatenation doubling": "{% set a = q * 20000 %}{% set a = a ~ a %}{% set a = a ~ a %}{% set a = a ~ a %}"
    "{% set a = a ~ a %}{% set a = a ~ a %}{% set a = a ~ a %}{% set a = a ~ a %}{{ a | length }}",
    "output of an aliased list": "{% set a = q * 20000 %}{{ [a] * 1000 }}",
    "indent": "{{ ((q ~ '\\n') * 1000) | indent(999999) }}",
    "loop output": "{% for i in range(99999) %}{{ q * 100 }}{% endfor %}",
    "macro recursion": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "macro fan-out": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "catastrophic regex": "{{ (q * 3 ~ '!') | regex_replace('^(a|aa)+$', 'x') }}",
    "slice count": "{{ [1, 2] | slice(999999999) | list }}",
    "tojson of aliased data": "{% set a = q * 20000 %}{{ ([a] * 1000) | tojson }}",
    "expandtabs": "{{ ('\\t' * 1000).expandtabs(999999) }}",
}


@pytest.mark.timeout(120)  # the point: each of these fails within its bound, not in minutes
@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
def test_render_is_bounded(template: str) -> None:
    with pytest.raises(RenderLimitError):
        compile_template(template).render(q="a" * 30)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
def test_over_a_bound_is_a_per_record_error(template: str) -> None:
    """normalise: every record fails with the bound as its reason, naming the record."""
    from tsqa.seeds.normalise import normalise
    from tsqa.spec.models import TaskSpec

    spec = TaskSpec.model_validate(
        {"task": "t", "seed": {"files": "x.jsonl"}, "format": "short_answer", "fields": {"question": template}}
    )
    docs = [{"q": "a" * 30, "answer": "1", "_tsqa_where": f"x.jsonl:{i + 1}"} for i in range(2)]
    result = normalise(spec, None, docs)
    assert result.records == []
    assert [f.seed_id for f in result.failures] == ["t:0", "t:1"]
    assert all(
        f.reason.startswith(f"x.jsonl:{i + 1}: fields.question: RenderLimitError")
        for i, f in enumerate(result.failures)
    )


@pytest.mark.timeout(120)
def test_a_template_over_its_bounds_on_every_record_stops_being_rendered() -> None:
    """Thousands of records cost three deadlines, not thousands: each still fails, named."""
    from tsqa.seeds.normalise import BOUNDED_FAILURES_TO_STOP, normalise
    from tsqa.spec.models import TaskSpec

    spec = TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"files": "x.jsonl"},
            "format": "short_answer",
            "fields": {"question": BOMBS["macro fan-out"]},
        }
    )
    docs = [{"q": "a", "_tsqa_where": f"x.jsonl:{i + 1}"} for i in range(5000)]
    result = normalise(spec, None, docs)
    assert len(result.failures) == 5000 and result.records == []
    assert "RenderLimitError" in result.failures[BOUNDED_FAILURES_TO_STOP - 1].reason
    assert result.failures[-1].reason.startswith("x.jsonl:5000: not rendered: the template went over its render bounds")


def test_bounds_leave_ordinary_templates_alone() -> None:
    text = "{{ q }}\n{% for c in choices %}{{ 'ABCD'[loop.index0] }}. {{ c | trim }}\n{% endfor %}Answer:"
    assert compile_template(text).render(q="Why?", choices=["a ", "b"]) == "Why?\nA. a\nB. b\nAnswer:"
    assert compile_template("{{ '%.2f' % x }} {{ '{:>5}'.format(y) }} {{ y * 3 }}").render(x=1.5, y="ab") == (
        "1.50    ab ababab"
    )


LINTED = {
    "string times a big literal": "{{ q * 100000000 }}",
    "power literal": "{{ 9 ** 999999 }}",
    "range literal": "{% for i in range(100000000) %}{% endfor %}",
    "center literal": "{{ q | center(999999999) }}",
    "four nested loops": "{% for a in q %}{% for b in q %}{% for c in q %}{% for d in q %}x{% endfor %}{% endfor %}"
    "{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("template", LINTED.values(), ids=LINTED.keys())
def test_lint_refuses_templates_that_cannot_fit(ws: Workspace, template: str) -> None:
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit, columns: [q, question, answer]}\n"
            f"fields: {{question: {template!r}}}\n".replace("'", '"').replace('""', "'"),
            {"data/train.jsonl": TRAIN_ROWS},
        )
    )
    result = ws.lint()
    ws.assert_refused(result)
    assert "template-bounds" in result.output
