"""What bounding every template render costs, and how fast a template over its bounds fails.

Same process, alternating rounds: an lm-eval-style field template rendered on a document by
tsqa's bounded sandbox (spec/templates.py: deadline, size and iteration checks, counted loops)
and by a plain ImmutableSandboxedEnvironment; then a few templates that would run for minutes or
build gigabytes, each timed to its RenderLimitError.

    python benchmarks/seeds/bench_render_bounds.py --renders 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tsqa.spec.templates import RenderLimitError, compile_template

TEMPLATE = (
    "Question: {{ question }}\n{% for c in choices.text %}{{ choices.label[loop.index0] }}. {{ c }}\n{% endfor %}"
    "Answer: {{ choices.label.index(answerKey) }}"
)
DOC = {
    "question": "Which part of a plant absorbs water from the soil?",
    "choices": {"text": ["leaf", "flower", "root", "stem"], "label": ["A", "B", "C", "D"]},
    "answerKey": "C",
}
BOMBS = {
    "nested loops (10^10 iterations)": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "string x 10^8": "{{ question * 100000000 }}",
    "macro fan-out (2^40 calls)": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "concatenation doubling": "{% set a = question * 20000 %}{% for i in range(30) %}{% set a = a ~ a %}{% endfor %}{{ a }}",
}


def rate(render: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        render(**DOC)  # type: ignore[operator]
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    plain = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined).from_string(TEMPLATE)
    bounded = compile_template(TEMPLATE)
    assert plain.render(**DOC) == bounded.render(**DOC)
    p_rates, b_rates = [], []
    for _ in range(args.rounds):
        p_rates.append(rate(plain.render, args.renders))
        b_rates.append(rate(bounded.render, args.renders))
    p, b = statistics.median(p_rates), statistics.median(b_rates)
    print(f"| plain immutable sandbox | {p:,.0f} renders/s |")
    print(f"| tsqa bounded sandbox | {b:,.0f} renders/s |")
    print(f"| bounded ÷ plain | {b / p:.2f} |")
    for name, text in BOMBS.items():
        start = time.perf_counter()
        try:
            compile_template(text).render(**DOC)
            outcome = "rendered?!"
        except RenderLimitError as err:
            outcome = str(err)
        print(f"| {name} | {time.perf_counter() - start:.2f} s | {outcome} |")


if __name__ == "__main__":
    main()
