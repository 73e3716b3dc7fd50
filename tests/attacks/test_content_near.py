"""Class: near copies of eval questions that keep their letters but not their words (joined,
camelCase, leetspeak, plural, reversed, letters swapped, escapes left literal, three synonyms),
and short eval questions (under 13 words, one 13-gram at most) padded, cut, edited or hidden in a
passage. Control cases: different questions on the same topic pass."""

from __future__ import annotations

import pytest
from attack_helpers import Attack, Workspace
from test_content import ARC_SPEC, EVAL, files_spec, jsonl, with_eval_store

SYN = {"planet": "world", "known": "famous", "people": "folks", "temperature": "heat level", "pure": "clean"}


def _syn3(q: str) -> str:
    out, n = [], 0
    for w in q.split():
        if n < 3 and w in SYN:
            w, n = SYN[w], n + 1
        out.append(w)
    return " ".join(out)


NEAR = {
    "joined": lambda q: q.replace(" ", ""),
    "camel case": lambda q: "".join(w[:1].upper() + w[1:] for w in q.split()),
    "leetspeak": lambda q: q.translate(str.maketrans({"e": "3", "a": "4", "o": "0", "i": "1"})),
    "plural s": lambda q: " ".join(w + "s" if len(w) > 4 and not w.endswith("s") else w for w in q.split()),
    "right-to-left override, reversed": lambda q: "\u202e" + q[::-1] + "\u202c",
    "letters swapped": lambda q: " ".join(
        w[0] + w[2] + w[1] + w[3:] if i % 3 == 0 and len(w) > 3 else w for i, w in enumerate(q.split())
    ),
    "literal \\u0020 escapes": lambda q: q.encode("unicode_escape").decode().replace(" ", "\\u0020"),
    "three synonyms": _syn3,
}


@pytest.mark.parametrize("how", NEAR.values(), ids=NEAR.keys())
def test_near_copies_are_refused(ws: Workspace, how: object) -> None:
    rows = [{"question": how(r["question"]), "answer": "blue"} for r in EVAL]  # type: ignore[operator]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "eval row" in result.output and "train.jsonl:1" in result.output, result.output


SHORT = [
    "What is the largest ocean on planet Earth today?",
    "Which metal is liquid at normal room temperature?",
    "What do bees collect from flowers to make honey?",
]
SHORT_EDITS = {
    "prefix": lambda q, i: {"question": "Question: " + q, "answer": "blue"},
    "prefix and suffix": lambda q, i: {"question": "Quiz time! " + q + " Explain your answer.", "answer": "blue"},
    "one word swapped": lambda q, i: {
        "question": q.replace("largest", "biggest").replace("liquid", "fluid").replace("collect", "gather"),
        "answer": "blue",
    },
    "last word dropped": lambda q, i: {"question": " ".join(q.split()[:-1]) + "?", "answer": "blue"},
    "two in one row": lambda q, i: {"question": q + " " + SHORT[(i + 1) % 3], "answer": "x"},
    "in a context passage": lambda q, i: {
        "question": "Read the notes and name a colour.",
        "context": "Notes: " + q + " Also remember the sky.",
        "answer": "blue",
    },
}


def _short_store(ws: Workspace) -> None:
    rows = [
        {"id": f"s{i}", "question": q, "choices": {"text": ["red", "blue"], "label": ["A", "B"]}, "answerKey": "B"}
        for i, q in enumerate(SHORT)
    ]
    dd = ws.root / "dd" / "allenai" / "ai2_arc" / "ARC-Easy"
    dd.mkdir(parents=True)
    (dd / "validation.jsonl").write_text(jsonl(rows))
    (ws.root / "specs" / "arc.yaml").write_text(ARC_SPEC)
    args = ["seeds", "fetch-eval", str(ws.root / "specs" / "arc.yaml"), "--project", str(ws.root / "tsqa.yaml")]
    result = ws.run(*args, "--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 0, result.output
    ws.reads.clear()


@pytest.mark.parametrize("edit", SHORT_EDITS.values(), ids=SHORT_EDITS.keys())
def test_short_eval_questions_edited_or_hidden(ws: Workspace, edit: object) -> None:
    rows = [edit(q, i) for i, q in enumerate(SHORT)]  # type: ignore[operator]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    _short_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows" in result.output, result.output


CONTROLS = [
    "What is the smallest ocean on planet Earth, and which continents border it?",
    "Which metal has the highest melting point of all the elements?",
    "Why do bees dance when they come back to the hive?",
    "How deep is the deepest point of the largest ocean on planet Earth?",
    "Which planet of the solar system has the most moons orbiting around it today?",
    "At what temperature does pure water freeze at sea level on the Fahrenheit scale?",
]


def test_related_questions_on_the_same_topics_pass(ws: Workspace) -> None:
    """Control: same topics, many shared words, short and long: none is an eval row."""
    rows = [{"question": q, "answer": "x"} for q in CONTROLS]
    rows += [{"question": "Read the notes.", "context": "Notes: bees make honey from nectar. " * 3, "answer": "x"}]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    _short_store(ws)
    result = ws.fetch()
    assert result.exit_code == 0, result.output


def test_related_questions_pass_against_long_eval_questions(ws: Workspace) -> None:
    rows = [{"question": q, "answer": "x"} for q in CONTROLS]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    assert result.exit_code == 0, result.output
