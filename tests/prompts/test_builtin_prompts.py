"""The built-in prompts: a worked example as an earlier exchange, rendered for every format."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tsqa.prompts import (
    BUILTIN_PROMPTS,
    STAGE_VARIABLES,
    PromptShapeError,
    builtin_prompt_text,
    example_partner,
    split_turns,
    worked_example,
)
from tsqa.spec.templates import compile_template, template_variables
from tsqa.stages.output_schema import generation_schema

SEEDS = {
    "multiple_choice": [
        {
            "seed_id": "sciq:0",
            "question": "What type of organism is used to make cheese and yogurt?",
            "options": ["protozoa", "viruses", "gymnosperms", "mesophilic organisms"],
            "answer_index": 3,
            "answer_text": "mesophilic organisms",
            "context": "Mesophiles grow best in moderate temperature. They are used in cheese and yogurt making.",
        },
        {
            "seed_id": "sciq:1",
            "question": "What form of energy does a moving car have?",
            "options": ["nuclear", "chemical", "thermal", "kinetic"],
            "answer_index": 3,
            "answer_text": "kinetic",
            "context": "Kinetic energy is the energy an object has because it is moving.",
        },
    ],
    "short_answer": [
        {
            "seed_id": "gsm8k:0",
            "question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
            "options": None,
            "answer_index": None,
            "answer_text": "72",
            "context": None,
        },
        {
            "seed_id": "gsm8k:1",
            "question": "Weng earns $12 an hour. She worked 50 minutes. How much did she earn?",
            "options": None,
            "answer_index": None,
            "answer_text": "10",
            "context": None,
        },
    ],
}


def values(fmt: str, stage: str, record: dict, example: dict | None, **extra: object) -> dict:
    out = {
        "task": "demo",
        "description": None,
        "format": fmt,
        "group": "knowledge",
        "per_seed": 2,
        "question": record["question"],
        "choices": list(record["options"] or []),
        "answer": record["answer_index"] if record["answer_index"] is not None else record["answer_text"],
        "answer_text": record["answer_text"],
        "context": record["context"],
        **(example or {}),
        **extra,
    }
    return {k: v for k, v in out.items() if k in STAGE_VARIABLES[stage]}  # type: ignore[index]


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_generate_prompt_shows_a_real_record_as_a_valid_earlier_reply(fmt: str) -> None:
    seed, other = SEEDS[fmt]
    with_context = seed["context"] is not None
    example = worked_example(other, fmt, with_context=with_context)
    text = compile_template(builtin_prompt_text("similar_question")).render(**values(fmt, "generate", seed, example))
    turns = split_turns(text)
    assert [role for role, _ in turns] == ["user", "assistant", "user"]
    assert "Write 1 new question." in turns[0][1] and "Write 2 new questions." in turns[2][1]
    reply = json.loads(turns[1][1])
    n_options = len(other["options"]) if other["options"] else None
    jsonschema.validate(reply, generation_schema(fmt, 1, n_options, with_context=with_context))
    item = reply["questions"][0]
    assert item["question"] == other["question"]
    if fmt == "multiple_choice":
        assert item["options"][ord(item["answer"]) - ord("A")] == other["answer_text"]
        assert "Each question has 4 options" in turns[2][1] and '"context" passage' in turns[2][1]
        assert "D. mesophilic organisms" in turns[2][1]
    else:
        assert item["answer"] == other["answer_text"] and "short and checkable" in turns[2][1]
    assert seed["question"] in turns[2][1] and other["question"] not in turns[2][1]


def test_the_worked_example_does_not_teach_a_fixed_answer_slot() -> None:
    letters = set()
    for i in range(40):
        record = {**SEEDS["multiple_choice"][1], "seed_id": f"sciq:{i}"}  # answer always last in sciq
        letters.add(
            json.loads(worked_example(record, "multiple_choice", with_context=False)["example_json"])["questions"][0][
                "answer"
            ]
        )
    assert letters == {"A", "B", "C", "D"}


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_solve_prompt_example_ends_with_the_line_the_vote_reads(fmt: str) -> None:
    seed, other = SEEDS[fmt]
    example = worked_example(other, fmt, with_context=False)
    text = compile_template(builtin_prompt_text("solve")).render(**values(fmt, "solve", seed, example))
    turns = split_turns(text)
    assert [role for role, _ in turns] == ["user", "assistant", "user"]
    final = turns[1][1].splitlines()[-1]
    if fmt == "multiple_choice":  # the JSON the request's schema enforces: {"answer": letter}
        shown = example["example"]["choices"]
        letter = json.loads(final)["answer"]
        assert shown[ord(letter) - ord("A")] == other["answer_text"] and '{"answer":' in turns[2][1]
    else:
        assert final == "The final answer is: 10"
    assert "Correct answer" not in text and "72" not in turns[2][1].replace(seed["question"], "")  # never the answer


def test_solve_prompt_answer_by_text_shows_an_option_text_reply() -> None:
    """`verify.answer_by: text`: the worked reply is the option's text (JSON-escaped), and the
    request asks for the option copied; without an example the built-in one does the same."""
    seed, other = SEEDS["multiple_choice"]
    other = {**other, "options": ['a "quoted" form', "chemical", "thermal", "kinetic"]}
    example = worked_example(other, "multiple_choice", with_context=False)
    template = compile_template(builtin_prompt_text("solve"))
    turns = split_turns(template.render(**values("multiple_choice", "solve", seed, example, answer_by="text")))
    assert json.loads(turns[1][1].splitlines()[-1]) == {"answer": "kinetic"}
    assert "copied exactly" in turns[2][1] and "letter" not in turns[2][1]
    other = {**other, "answer_index": 0, "answer_text": other["options"][0]}
    example = worked_example(other, "multiple_choice", with_context=False)
    turns = split_turns(template.render(**values("multiple_choice", "solve", seed, example, answer_by="text")))
    assert json.loads(turns[1][1].splitlines()[-1]) == {"answer": 'a "quoted" form'}
    builtin = split_turns(template.render(**values("multiple_choice", "solve", seed, None, answer_by="text")))
    assert json.loads(builtin[1][1]) == {"answer": "Carbon dioxide"}
    lettered = split_turns(template.render(**values("multiple_choice", "solve", seed, None, answer_by="letter")))
    assert json.loads(lettered[1][1]) == {"answer": "C"} and "letter of the correct option" in lettered[2][1]


@pytest.mark.parametrize("name", sorted(n for n, p in BUILTIN_PROMPTS.items() if p.stage == "enrich"))
@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_enrich_prompts_answer_a_builtin_question_first(name: str, fmt: str) -> None:
    seed = SEEDS[fmt][0]
    text = compile_template(builtin_prompt_text(name)).render(**values(fmt, "enrich", seed, None, variant=name))
    turns = split_turns(text)
    assert [role for role, _ in turns] == ["user", "assistant", "user"]
    exemplar = turns[1][1]
    expected = "Carbon dioxide" if fmt == "multiple_choice" else "36"
    if name == "answer_only":
        assert expected.lower() in exemplar.lower()
    else:
        assert exemplar.splitlines()[-1] == f"The final answer is: {expected}"
    assert len(exemplar.split()) < 70  # short: the example's enrich budget is ~100 tokens
    assert f"Correct answer: {seed['answer_text']}" in turns[2][1] and seed["question"] in turns[2][1]


@pytest.mark.parametrize("name", sorted(BUILTIN_PROMPTS))
def test_without_an_example_every_prompt_still_renders_and_ends_with_the_user(name: str) -> None:
    stage = BUILTIN_PROMPTS[name].stage
    text = builtin_prompt_text(name)
    assert template_variables(text) <= STAGE_VARIABLES[stage]
    rendered = compile_template(text).render(
        **values("multiple_choice", stage, SEEDS["multiple_choice"][0], None, variant=name)
    )
    turns = split_turns(rendered)
    assert turns[-1][0] == "user" and SEEDS["multiple_choice"][0]["question"] in turns[-1][1]


def test_split_turns() -> None:
    assert split_turns("  plain text \n") == [("user", "plain text")]
    assert split_turns("<|tsqa:system|>\nbe brief\n<|tsqa:user|>\nhi\n") == [("system", "be brief"), ("user", "hi")]
    assert split_turns("a <|tsqa:user|> inline is text") == [("user", "a <|tsqa:user|> inline is text")]
    for bad in ("<|tsqa:user|>\nq\n<|tsqa:assistant|>\na", "<|tsqa:user|>\n\n<|tsqa:user|>\nq", "x\n<|tsqa:user|>\nq"):
        with pytest.raises(PromptShapeError):
            split_turns(bad)


def test_example_partner_is_another_record() -> None:
    assert example_partner(["a"], "a") is None
    assert example_partner([], "a") is None
    pool = ["a", "b", "c", "d"]
    picks = [example_partner(pool, seed) for seed in pool]
    assert all(p is not None and pool[p] != seed for p, seed in zip(picks, pool, strict=True))
    assert example_partner(pool, "zz") in range(4)  # a seed outside the pool still gets an example
    # the choice depends on the seed and the pool only, not on where the seed sits in its chunk
    assert [example_partner(pool, s) for s in pool] == picks
