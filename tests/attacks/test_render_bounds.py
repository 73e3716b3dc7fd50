"""Class: renders that escape their bounds through their *input* or through output captured out
of sight, renders that differ between runs, split expressions, and values that crash a reader.

- A render's input is bounded (a 10 MB seed field), and slow filters (`wordwrap` …) take at most
  `max_slow_input` characters, since one filter call cannot be cut by the deadline.
- Output written anywhere counts: `{% set %}` blocks, `{% filter %}` blocks, macros and `caller()`
  capture text that is joined later, out of the output stream's sight.
- Renders are deterministic: `|random` is refused (lint `template-nondeterministic`, and the
  template does not compile), and an object printed with its memory address fails the record.
- A seed names one plain split: `all`, `train+test`, `train[:50%]` are refused.
- An integer past 64 bits in a seed record, a damaged eval store file, a self-referencing YAML
  alias: a message naming the file (and line), never a traceback."""

from __future__ import annotations

import json
import time

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

from tsqa.spec.templates import LIMITS, RenderLimitError, compile_template

SEED = "seed: {files: ../data/train.jsonl, license: mit, columns: [question, answer, q]}\n"
DATA = {"data/train.jsonl": TRAIN_ROWS}

CAPTURED = {
    "set block of a loop": "{% set y %}{% for i in range(100000) %}{{ q }}{% endfor %}{% endset %}{{ y|length }}",
    "set block of literal text": "{% set y %}{% for i in range(100000) %}"
    + "x" * 3000
    + "{% endfor %}{% endset %}{{ y|length }}",
    "set block of a constant": "{% set y %}{% for i in range(100000) %}{{ '"
    + "x" * 3000
    + "' }}{% endfor %}{% endset %}1",
    "filter block": "{% filter upper %}{% for i in range(100000) %}{{ q }}{% endfor %}{% endfilter %}",
    "macro output": "{% macro m() %}{% for i in range(100000) %}{{ q }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "caller": "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{% for i in range(100000) %}{{ q }}{% endfor %}{% endcall %}1",
    "nested set blocks": "{% set a %}{% for i in range(300) %}{{ q }}{% endfor %}{% endset %}"
    "{% set b %}{% for i in range(300) %}{{ a }}{% endfor %}{% endset %}{{ b|length }}",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("template", CAPTURED.values(), ids=CAPTURED.keys())
def test_captured_output_is_bounded(template: str) -> None:
    start = time.monotonic()
    with pytest.raises(RenderLimitError, match="wrote over"):
        compile_template(template).render(q="a" * 3000)
    assert time.monotonic() - start < 5


SLOW = ["wordwrap", "urlize", "sort", "unique", "title", "striptags", "wordcount", "truncate(5)", "max", "indent"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", SLOW)
def test_slow_filters_take_bounded_input(name: str) -> None:
    """A value of 500k characters (under the input bound) through a slow filter fails fast."""
    start = time.monotonic()
    with pytest.raises(RenderLimitError, match="too slow to bound"):
        compile_template("{{ q|" + name + " }}").render(q="word " * 100_000)
    assert time.monotonic() - start < 2


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [LIMITS.max_input_chars + 1, 10_000_000])
def test_input_is_bounded(size: int) -> None:
    start = time.monotonic()
    with pytest.raises(RenderLimitError, match="input is over"):
        compile_template("{{ q|wordwrap }}").render(q="x " * (size // 2 + 1))
    assert time.monotonic() - start < 2


@pytest.mark.timeout(120)
def test_a_huge_seed_field_is_a_per_record_error(ws: Workspace) -> None:
    """A 10 MB field: that record fails, named by file:line, within a second; the others go on."""
    from tsqa.seeds.normalise import normalise
    from tsqa.spec.models import TaskSpec

    spec = TaskSpec.model_validate(
        {
            "task": "t",
            "seed": {"files": "x.jsonl"},
            "format": "short_answer",
            "fields": {"question": "{{ q|wordwrap }}", "answer": "{{ answer }}"},
        }
    )
    docs = [
        {"q": "How many legs?", "answer": "8", "_tsqa_where": "x.jsonl:1"},
        {"q": "word " * 2_000_000, "answer": "1", "_tsqa_where": "x.jsonl:2"},
    ]
    start = time.monotonic()
    result = normalise(spec, None, docs)
    assert time.monotonic() - start < 3
    assert [r.seed_id for r in result.records] == ["t:0"]
    assert result.failures[0].reason.startswith("x.jsonl:2: fields.question: RenderLimitError"), result.failures


NONDETERMINISTIC = {
    "random filter": "{{ [question, 'x']|random }}",
    "random in a set": "{% set a = [question, 'y']|random %}{{ a }}",
    "random of a range": "{{ question }} {{ range(100)|random }}",
    "lipsum": "{{ question }} {{ lipsum(1) }}",
    "random in a macro": "{% macro m(x) %}{{ x|random }}{% endmacro %}{{ m(question) }}",
    "random as a map argument": "{{ [question]|map('random')|join }}",
}


@pytest.mark.parametrize("template", NONDETERMINISTIC.values(), ids=NONDETERMINISTIC.keys())
def test_nondeterministic_templates_are_refused(ws: Workspace, template: str) -> None:
    ws.build(Attack(f"task: attack\nformat: short_answer\n{SEED}fields: {{question: {json.dumps(template)}}}\n", DATA))
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
    out = ws.lint().output
    assert "attack.yaml:4:" in out and ("template-nondeterministic" in out or "undefined" in out), out


@pytest.mark.parametrize("template", NONDETERMINISTIC.values(), ids=NONDETERMINISTIC.keys())
def test_nondeterministic_templates_never_render(template: str) -> None:
    """Below lint: the template does not compile, or its render fails (`map('random')`)."""
    from tsqa.spec.templates import TemplateError

    with pytest.raises((TemplateError, RenderLimitError, Exception)):
        compile_template(template).render(question="q")


PRINTED_OBJECTS = [
    "{{ question.split }}",
    "{{ question|map('upper') }}",
    "{{ cycler(1, 2) }}",
    "{{ question.split ~ '' }}",
]


@pytest.mark.parametrize("template", PRINTED_OBJECTS)
def test_printing_an_object_address_fails_the_render(template: str) -> None:
    with pytest.raises(RenderLimitError, match=r"not data|memory address"):
        compile_template(template).render(question="q")


def test_an_address_in_the_data_itself_is_fine() -> None:
    text = "What does print(object()) show? <object object at 0x7f00deadbeef>"
    assert compile_template("{{ question }}").render(question=text) == text


SPLITS = [
    "all",
    "ALL",
    "train+test",
    "train[:50%]",
    "train[:100]",
    "train[10:20]",
    "train + train",
    "train[:50%]+train[50%:]",
    "*",
    "tr ain",
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("kind", ["files", "hf"])
def test_split_expressions_are_refused(ws: Workspace, split: str, kind: str) -> None:
    seed = (
        f"seed: {{files: ../data/train.jsonl, split: '{split}', license: mit}}\n"
        if kind == "files"
        else f"seed: {{hf: {{path: ../local, split: '{split}'}}, license: mit}}\n"
    )
    ws.build(Attack(f"task: attack\nformat: short_answer\n{seed}", {**DATA, "local/train.jsonl": TRAIN_ROWS}))
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "seed-split-not-training" in result.output and "attack.yaml:3:" in result.output, result.output


def test_split_expression_refused_below_lint(ws: Workspace) -> None:
    from tsqa.seeds.errors import EvalSplitRefused
    from tsqa.seeds.guard import check_training_only
    from tsqa.seeds.source import resolve_seed
    from tsqa.spec.models import TaskSpec

    spec = TaskSpec.model_validate(
        {"task": "t", "seed": {"files": "x.jsonl", "split": "train+test"}, "format": "short_answer"}
    )
    from tsqa.seeds.catalog import load_catalog

    catalog = load_catalog()
    with pytest.raises(EvalSplitRefused, match="plain split name"):
        check_training_only(resolve_seed(spec, catalog), catalog)


HUGE_INTS = {
    "int64 max + 1": str(2**63),
    "twenty digits": "9" * 20,
    "negative": "-" + "9" * 25,
    "nested in a list": "[1, " + "9" * 30 + "]",
    "nested in an object": '{"x": ' + "9" * 30 + "}",
}


@pytest.mark.parametrize("value", HUGE_INTS.values(), ids=HUGE_INTS.keys())
def test_an_int_past_64_bits_names_its_line(ws: Workspace, value: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\n{SEED}",
            {"data/train.jsonl": TRAIN_ROWS + '{"question": "How big?", "answer": "x", "q": ' + value + "}\n"},
        )
    )
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "train.jsonl:3: " in result.output and "64 bits" in result.output, result.output


DAMAGE = {
    "garbage": b"not parquet at all",
    "truncated": None,  # the real file cut in half
    "empty": b"",
    "wrong columns": "columns",
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_eval_store_is_a_message(ws: Workspace, damage: object) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ws.build(Attack(f"task: attack\nformat: short_answer\n{SEED}", DATA))
    split = ws.root / ".tsqa" / "eval" / "some_dataset" / "test.parquet"
    split.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x y z", "u v w"]}), split)
    if damage is None:
        split.write_bytes(split.read_bytes()[: split.stat().st_size // 2])
    elif damage == "columns":
        pq.write_table(pa.table({"other": [1, 2]}), split)
    else:
        assert isinstance(damage, bytes)
        split.write_bytes(damage)
    for result in (ws.fetch(), ws.plan()):
        assert result.exit_code == 1, result.output
        assert ("Traceback" not in result.output and result.exception is None) or isinstance(
            result.exception, SystemExit
        )
        assert "test.parquet" in result.output and "damaged eval store" in result.output, result.output


ALIASES = {
    "list containing itself": "x: &a [1, *a]\n",
    "mapping containing itself": "x: &a {k: *a}\n",
    "merge of itself": "x: &a {k: 1, <<: *a}\n",
    "indirect cycle": "x: &a {k: &b [*a]}\n",
}


@pytest.mark.parametrize("tail", ALIASES.values(), ids=ALIASES.keys())
@pytest.mark.parametrize("where", ["spec", "project"])
def test_a_self_referencing_alias_is_a_message(ws: Workspace, tail: str, where: str) -> None:
    spec = f"task: attack\nformat: short_answer\n{SEED}"
    ws.build(Attack(spec + tail if where == "spec" else spec, DATA, project=tail if where == "project" else ""))
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        out = result.output
        assert result.exit_code == 1, out
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in out and "RecursionError" not in out, out
        assert ("attack.yaml:4:" if where == "spec" else "tsqa.yaml:") in out, out
