"""Class: a `regex_replace` pattern whose *compile* cannot be bounded. Compiling is one call no
deadline can cut: nested counted repeats (`((a{1000}){1000}){1000}`) take tens of seconds and
gigabytes there. A pattern is measured before it is compiled (length, repeats unrolled): a literal
one is refused when the template compiles (lint), one from the data fails its record."""

from __future__ import annotations

import time

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

from tsqa.spec.templates import RenderLimitError, TemplateError, compile_template

BOMBS = {
    "nested counted repeats": "((((a{1000}){1000}){1000}){1000})",
    "two big counts": "(?:a{65535}){65535}",
    "lazy repeats": "(?:(?:a{300}?){300}?){300}?",
    "repeat inside a branch": "(x|(?:b{5000}){5000})",
    "repeat inside a lookahead": "(?=(?:c{200}){200})",
    "over the length cap": "a" * 1500,
}
SEED = "seed: {files: ../data/train.jsonl, license: mit, columns: [question, answer]}\n"


@pytest.mark.parametrize("pattern", BOMBS.values(), ids=BOMBS.keys())
def test_literal_bomb_in_a_field_template(ws: Workspace, pattern: str) -> None:
    template = "{{ question|regex_replace('" + pattern + "', '') }}"
    ws.build(
        Attack(
            f'task: attack\nformat: short_answer\n{SEED}fields: {{question: "{template}"}}\n',
            {"data/train.jsonl": TRAIN_ROWS},
        )
    )
    start = time.monotonic()
    ws.assert_refused(ws.lint())
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("pattern", list(BOMBS.values())[:2], ids=list(BOMBS)[:2])
def test_literal_bomb_in_a_prompt(ws: Workspace, pattern: str) -> None:
    template = "{{ question|regex_replace(pattern='" + pattern + "') }} Write a similar question."
    ws.build(
        Attack(
            f'task: attack\nformat: short_answer\n{SEED}generate:\n  prompt: {{inline: "{template}"}}\n',
            {"data/train.jsonl": TRAIN_ROWS},
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.plan())


@pytest.mark.timeout(60)
def test_bomb_from_the_data_fails_its_record() -> None:
    """A pattern taken from a seed field: that record fails (named), within the render's bounds."""
    from tsqa.seeds.normalise import normalise
    from tsqa.spec.models import TaskSpec

    spec = TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"files": "x.jsonl"},
            "format": "short_answer",
            "fields": {"question": "{{ question|regex_replace(answer, '') }}"},
        }
    )
    docs = [{"question": "How many legs?", "answer": BOMBS["two big counts"], "_tsqa_where": "x.jsonl:1"}]
    result = normalise(spec, None, docs)
    assert result.records == []
    assert result.failures[0].reason.startswith("x.jsonl:1: fields.question: RenderLimitError")
    assert "unrolls" in result.failures[0].reason


@pytest.mark.timeout(30)
def test_bomb_at_render_is_refused_before_compiling() -> None:
    start = time.monotonic()
    with pytest.raises(RenderLimitError, match="unrolls"):
        compile_template("{{ q|regex_replace(p) }}").render(q="a", p=BOMBS["nested counted repeats"])
    assert time.monotonic() - start < 2
    with pytest.raises(TemplateError):
        compile_template("{{ q|regex_replace('(a') }}")


def test_group_references_count_toward_the_output_bound() -> None:
    with pytest.raises(RenderLimitError):
        compile_template("{{ q|regex_replace('(a+)', '" + "\\\\1" * 50 + "') }}").render(q="a" * 90_000)


def test_ordinary_patterns_still_work() -> None:
    t = compile_template(r"{{ q|regex_replace('\\s*\\[.*?\\]\\s*', ' ')|regex_replace('\\d{1,3}', 'N') }}")
    assert t.render(q="Answer [title] 1234 here") == "Answer NN here"
