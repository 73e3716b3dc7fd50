"""Answer extraction end to end: the forms the built-in prompts ask for, a regex `pattern` that is
really used, one extractor table for lint and verify, and every rejection reason."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, get_args

import pytest

import tsqa.compile  # noqa: F401  -- first: importing a stage module first hits a cycle on main (reported)
from tsqa.curate.vote import PatternError, check_pattern, majority_vote
from tsqa.lint import lint_paths
from tsqa.spec.extractors import TABLE, extractor_use, usable
from tsqa.spec.models import VoteVerify
from tsqa.spec.models.stages import Extractor
from tsqa.spec.models.task import Format
from tsqa.stages.enrich import check_enrichments
from tsqa.stages.verify import verify_by_vote

FINAL_ANSWER_FORMS = [
    "Step by step... 900 + 1 = 901.\nThe final answer is: 901",  # what the built-in prompts ask for
    "The final answer is 901.",
    "The final answer is: **901**",
    "**Final Answer:** 901",
    "Final Answer: The final answer is $901$. I hope it is correct.",
    "So the answer is 901!",
    "answer: 901",
    "The final answer is $\\boxed{901}$.",
    "The final answer is: 901 apples.",
    "The final answer is: $901.00",
]


@pytest.mark.parametrize("response", FINAL_ANSWER_FORMS)
def test_final_answer_reads_the_usual_forms(response: str) -> None:
    r = majority_vote([[response]], mode="final_answer", references=["901"])
    assert r.winner.to_pylist() == ["901"]
    assert r.matches_reference.to_pylist() == [True]


def test_the_prompted_format_no_longer_contradicts_the_answer() -> None:
    """Issue 11 item 7: every gsm8k enrichment was rejected as contradicts_answer."""
    rows = [_enriched(text) for text in FINAL_ANSWER_FORMS]
    assert check_enrichments("short_answer", rows) == ["kept"] * len(rows)


def _enriched(text: str, **kw: Any) -> dict[str, Any]:
    return {"text": text, "error": None, "finish_reason": "stop", "options": None, "answer_index": None} | {
        "answer_text": "901",
        **kw,
    }


def test_every_enrichment_rejection_reason() -> None:
    rows = [
        _enriched("Because 900 + 1. The final answer is: 901"),
        _enriched("", error="HTTP 503: gave up"),
        _enriched("   \n"),
        _enriched("Because 900 + 1 = ", finish_reason="length"),
        _enriched("Because 900 + 2. The final answer is: 902"),
        _enriched("No explicit final line, just 902."),  # nothing extractable: not a contradiction
    ]
    assert check_enrichments("short_answer", rows) == [
        "kept",
        "engine_error",
        "empty",
        "truncated",
        "contradicts_answer",
        "kept",
    ]
    mc = {"options": ["Paris", "London"], "answer_index": 1, "answer_text": "London"}
    assert check_enrichments(
        "multiple_choice",
        [
            _enriched("... The final answer is: (B)", **mc),
            _enriched("... The final answer is: London.", **mc),
            _enriched("... The final answer is: Paris", **mc),
        ],
    ) == ["kept", "kept", "contradicts_answer"]


def test_enrichments_are_read_with_the_specs_extractor_and_pattern() -> None:
    """Attack on issue 11, item 4: a regex spec's enrichment was checked with final_answer (it
    voted 'wrong' out of "The final answer is: wrong"); it is read as verify reads it."""
    rule = VoteVerify(extractor="regex", pattern=r"ANSWER<<(.+?)>>")
    rows = [
        _enriched("I think. The final answer is: wrong0\nANSWER<<901>>"),
        _enriched("Thinking. ANSWER<<902>>"),
        _enriched("The final answer is: 902 (no pattern match: nothing read, not a contradiction)"),
    ]
    assert check_enrichments("short_answer", rows, rule) == ["kept", "contradicts_answer", "kept"]
    assert check_enrichments("short_answer", rows[:1]) == ["contradicts_answer"]  # auto reads "wrong0"
    number = VoteVerify(extractor="number")
    assert check_enrichments("short_answer", [_enriched("So the final answer is: about 901 apples")], number) == [
        "kept"
    ]


def _question(i: int, answer: str = "12", **kw: Any) -> dict[str, Any]:
    return {"question_id": f"q{i}", "options": None, "answer_index": None, "answer_text": answer, **kw}


def test_every_verify_rejection_reason() -> None:
    rule = VoteVerify(samples=4, min_agreement=0.5, extractor="final_answer")
    cases = {
        "kept": ["The final answer is: 12"] * 3 + ["The final answer is: 13"],
        "no_answer_extracted": ["I am not sure", "no idea", "", "hmm"],
        "low_agreement": ["The final answer is: 12", "answer: 13", "answer: 14", "answer: 15"],
        "answer_mismatch": ["The final answer is: 99"] * 4,
    }
    verdicts = verify_by_vote([_question(i) for i in range(len(cases))], list(cases.values()), "short_answer", rule)
    assert verdicts.table.column("reason").to_pylist() == list(cases)
    assert verdicts.table.column("kept").to_pylist() == [True, False, False, False]
    # without require_match, a confident majority for another answer is kept
    loose = rule.model_copy(update={"require_match": False})
    assert verify_by_vote([_question(0)], [cases["answer_mismatch"]], "short_answer", loose).table.column(
        "reason"
    ).to_pylist() == ["kept"]


def test_a_format_without_an_extractor_keeps_and_says_so() -> None:
    verdicts = verify_by_vote([_question(0)], [["x"]], "code", VoteVerify(extractor="auto"))
    assert verdicts.table.column("reason").to_pylist() == ["no_extractor"]
    assert verdicts.table.column("kept").to_pylist() == [True]


def test_the_regex_pattern_is_what_reads_the_answer() -> None:
    rule = VoteVerify(samples=3, min_agreement=0.6, extractor="regex", pattern=r"ANSWER=(\S+)")
    samples = [
        ["work... ANSWER=12", "ANSWER=12.0", "ANSWER=3"],  # the pattern finds 12, 12, 3
        ["The final answer is: 12"] * 3,  # final_answer would keep this; the pattern finds nothing
        ["ANSWER=7 ... ANSWER=12", "ANSWER=12", "ANSWER=12."],  # the last match counts
    ]
    verdicts = verify_by_vote([_question(i) for i in range(3)], samples, "short_answer", rule).table
    assert verdicts.column("reason").to_pylist() == ["kept", "no_answer_extracted", "kept"]
    assert verdicts.column("winner").to_pylist() == ["12", None, "12"]
    assert verdicts.column("votes").to_pylist() == [2, 0, 3]
    mc = _question(0, answer="London", options=["Paris", "London"], answer_index=1)
    mc_rule = rule.model_copy(update={"pattern": r"Choice: (.+)"})
    got = verify_by_vote([mc], [["Choice: B", "Choice: London", "Choice: A"]], "multiple_choice", mc_rule).table
    assert (got.column("winner").to_pylist(), got.column("reason").to_pylist()) == (["London"], ["kept"])


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"ANSWER: \d+", "needs exactly one capture group (the answer), found 0"),
        (r"(\w+): (\d+)", "needs exactly one capture group (the answer), found 2"),
        (r"ANSWER: (\d+", "unclosed group"),
        (r"(?<=ANSWER: )(\d+)", "look-around"),
        (r"(a)\1", "backreferences are not supported"),
        (r"(\w{1000}){1000}", "limit"),
    ],
)
def test_unusable_patterns_are_refused_with_the_reason(pattern: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(PatternError, match=re.escape(reason)):
        check_pattern(pattern)
    diags = _lint(tmp_path, "free_form", "regex", pattern=pattern)
    assert [(d.rule, d.field) for d in diags] == [("verify-pattern", "verify.pattern")]
    assert reason in diags[0].message and diags[0].message.startswith("unusable answer pattern: ")


def test_a_usable_pattern_lints_clean(tmp_path: Path) -> None:
    check_pattern(r"(?i)final answer:\s*(.+)")
    assert _lint(tmp_path, "free_form", "regex", pattern=r"(?i)final answer:\s*(.+)") == []


def _lint(tmp_path: Path, fmt: str, extractor: str, pattern: str | None = None) -> list[Any]:
    (tmp_path / "tsqa.yaml").write_text(
        "version: 1\nname: x\nmodels:\n  generator: {engine: vllm, model: tiny/generator, max_model_len: 2048}\n"
    )
    (tmp_path / "data.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    verify = f"  extractor: {extractor}\n" + (f"  pattern: '{pattern}'\n" if pattern is not None else "")
    spec = tmp_path / f"{fmt}-{extractor}.yaml"
    spec.write_text(f"task: t\nseed: {{files: data.jsonl, license: cc0-1.0}}\nformat: {fmt}\nverify:\n{verify}")
    return [
        d for d in lint_paths([spec], project_file=tmp_path / "tsqa.yaml").diagnostics if d.rule.startswith("verify")
    ]


EXTRACTORS = list(get_args(Extractor))
FORMATS = list(get_args(Format))


@pytest.mark.parametrize(("fmt", "extractor"), list(itertools.product(FORMATS, EXTRACTORS)))
def test_lint_and_verify_read_one_table(fmt: str, extractor: str, tmp_path: Path) -> None:
    """Lint accepts exactly the combinations verify can vote with, and verify runs every one."""
    pattern = r"ANSWER: (.+)" if extractor == "regex" else None
    diags = _lint(tmp_path, fmt, extractor, pattern)
    works = extractor in usable(fmt)
    assert (diags == []) == works, [d.message for d in diags]
    if not works:
        assert [d.rule for d in diags] == ["verify-format-mismatch"]
        return
    use = extractor_use(fmt, extractor)
    assert use is not None and use.pattern == (extractor == "regex")
    rule = VoteVerify(samples=2, min_agreement=0.5, extractor=extractor, pattern=pattern)  # type: ignore[arg-type]
    if fmt == "multiple_choice":
        question = _question(0, answer="London", options=["Paris", "London"], answer_index=1)
        key = "B"
    else:
        question, key = _question(0, answer="12"), "12"
    answer = {"boxed": f"\\boxed{{{key}}}", "regex": f"ANSWER: {key}"}.get(extractor, f"The final answer is: {key}")
    verdict = verify_by_vote([question], [[answer, answer]], fmt, rule).table.to_pylist()[0]
    assert verdict["reason"] == "kept", (verdict, answer)


def test_the_table_covers_every_format() -> None:
    assert set(TABLE) == set(FORMATS)
    assert all("none" not in row for row in TABLE.values())


def test_the_verify_stage_reads_answers_with_the_pattern() -> None:
    """The columnar verify stage (what apply runs) uses the same table and the pattern."""
    import pyarrow as pa

    from tsqa.stages.schema import SCHEMAS, conform
    from tsqa.stages.verify import verify_columns

    rows = conform(
        pa.Table.from_pylist(
            [
                {"question_id": "q0", "answer_text": "12", "samples": ["ANSWER=12", "ANSWER=12.0", "ANSWER=3"]},
                {"question_id": "q1", "answer_text": "12", "samples": ["The final answer is: 12"] * 3},
                {"question_id": "q2", "answer_text": "12", "samples": ["ANSWER=13"] * 3},
            ]
        ),
        SCHEMAS["solve"],
    )
    rule = VoteVerify(samples=3, min_agreement=0.6, extractor="regex", pattern=r"ANSWER=(\S+)")
    out = verify_columns(rows, "short_answer", rule)
    assert out.kept.column("question_id").to_pylist() == ["q0"]
    assert dict(zip(out.rejects.column("id").to_pylist(), out.rejects.column("reason").to_pylist(), strict=True)) == {
        "q1": "no_answer_extracted",
        "q2": "answer_mismatch",
    }
    final = verify_columns(rows, "short_answer", VoteVerify(samples=3, min_agreement=0.6, extractor="final_answer"))
    assert final.kept.column("question_id").to_pylist() == ["q0", "q1"]  # "answer=" and the prompted format
