"""Class: short eval texts after 7d3df0c. A seed text that matches only a short eval text (under 8
words, or found whole inside / one word from a seed text) now counts as that eval row only when the
matched text has 80% of the letters of the record's longest text, or another of the row's texts
*is* one of the record's. Attacks per lm-eval task shape: the eval row's substance (its question
with its answer, its question with its options, its passage) gets into the seeds wherever the
record has a longer text than the one copied (arc choices, sciq support, boolq passage, openbookqa
choices, piqa solutions, hellaswag endings, social_iqa context), and false positives that remain
(a generic question or option that is one record's main text or one of its texts).

Every case runs `tsqa seeds fetch` (and plan / apply for the first ones) on a training file, with
the eval store written by `tsqa seeds fetch-eval` holding the eval rows. A failing case is a hole:
those are marked xfail(strict) with the reason, so the suite stays green until they are fixed."""

from __future__ import annotations

from typing import Any

import pytest
from attack_helpers import Attack, Workspace
from test_content import ARC_SPEC, files_spec, jsonl

Row = dict[str, Any]


def _store(ws: Workspace, rows: list[Row]) -> None:
    """The eval store as `tsqa seeds fetch-eval` writes it, holding `rows` (of any task's shape)."""
    dd = ws.root / "dd" / "allenai" / "ai2_arc" / "ARC-Easy"
    dd.mkdir(parents=True)
    (dd / "validation.jsonl").write_text(jsonl(rows))
    (ws.root / "specs" / "arc.yaml").write_text(ARC_SPEC)
    args = ["seeds", "fetch-eval", str(ws.root / "specs" / "arc.yaml"), "--project", str(ws.root / "tsqa.yaml")]
    result = ws.run(*args, "--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 0, result.output
    ws.reads.clear()


def _seeds(ws: Workspace, evals: list[Row], train: list[Row], spec: str | None = None) -> None:
    ws.build(Attack(spec or files_spec(), {"data/train.jsonl": jsonl(train)}))
    _store(ws, evals)


def _apply_seed_read(ws: Workspace) -> str:
    """What apply's seed stage does with the spec (stages/seeds.read_seed_table): its error, or ""
    when it hands the rows on to generation (called directly: a hole must not start a model)."""
    from tsqa.spec.load import load_project, load_spec
    from tsqa.stages.base import StageError
    from tsqa.stages.seeds import read_seed_table

    project, _ = load_project(ws.root / "tsqa.yaml")
    assert project is not None
    loaded, _ = load_spec(ws.spec, project)
    assert loaded is not None
    try:
        read_seed_table(loaded, project)
    except StageError as exc:
        return str(exc)
    return ""


def _refused(ws: Workspace, *, plan_and_apply: bool = True) -> None:
    """fetch refuses the seed; then (nothing fetched) plan and apply's seed read refuse it too.
    One after the other: a hole stops at the first that lets the row in."""
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "seed rows are eval rows" in result.output, result.output
    if plan_and_apply:
        result = ws.plan()
        ws.assert_refused(result, rows_read=True)
        assert "seed rows are eval rows" in result.output, result.output
        assert "seed rows are eval rows" in _apply_seed_read(ws)


def _accepted(ws: Workspace) -> None:
    result = ws.fetch()
    assert result.exit_code == 0, result.output
    assert "fetched" in result.output and "refused as eval rows" not in result.output, result.output


# -- the eval records, one per lm-eval task shape ------------------------------------------------
ARC = {
    "id": "Mercury_7012",
    "question": "What causes the seasons on Earth?",
    "choices": {
        "text": [
            "the tilt of the Earth's axis as it orbits the Sun",
            "the changing distance between the Earth and the Sun",
            "the phases of the Moon",
            "the clouds",
        ],
        "label": ["A", "B", "C", "D"],
    },
    "answerKey": "A",
}
SCIQ = {
    "question": "What do plants release during photosynthesis?",
    "distractor1": "nitrogen",
    "distractor2": "carbon dioxide",
    "distractor3": "methane",
    "correct_answer": "oxygen",
    "support": "Photosynthesis is the process by which green plants use sunlight to make sugar from carbon "
    "dioxide and water. As a by-product of this process, plants release oxygen into the air, which animals breathe.",
}
SCIQ_LONGER = dict(SCIQ, question="What do plants release during photosynthesis into the air?")  # 5 content words
BOOLQ = {
    "question": "is windows movie maker part of essentials",
    "answer": True,
    "passage": "Windows Movie Maker (formerly known as Windows Live Movie Maker in Windows 7) is a discontinued "
    "video editing software by Microsoft. It was a part of Windows Essentials software suite and offered the "
    "ability to create and edit videos as well as to publish them on OneDrive, Facebook, Vimeo, YouTube, and Flickr.",
}
OBQA = {
    "id": "7-980",
    "question_stem": "The sun is responsible for",
    "choices": {
        "text": [
            "puppies learning new tricks",
            "children growing up and getting old",
            "flowers wilting in a vase",
            "plants sprouting, blooming and wilting",
        ],
        "label": ["A", "B", "C", "D"],
    },
    "answerKey": "D",
}
TRIVIA_RC = {  # trivia_qa `rc`: the question with its evidence (lm-eval reads rc.nocontext)
    "question": "Who painted the Sistine Chapel ceiling?",
    "question_id": "tc_1021",
    "question_source": "http://www.quizballs.com/",
    "entity_pages": {
        "title": ["Sistine Chapel ceiling"],
        "wiki_context": [
            (
                "The Sistine Chapel ceiling, painted in fresco by Michelangelo between 1508 and 1512, is a "
                "cornerstone work of High Renaissance art. The ceiling was commissioned by Pope Julius II."
            )
        ],
    },
    "answer": {"aliases": ["Michelangelo", "Buonarroti"], "value": "Michelangelo"},
}
TRIVIA = {
    "question": "Who painted the Sistine Chapel ceiling?",
    "question_id": "tc_1021",
    "question_source": "http://www.quizballs.com/",
    "answer": {"aliases": ["Michelangelo", "Buonarroti"], "normalized_value": "michelangelo", "value": "Michelangelo"},
}
PIQA = {
    "goal": "Remove rust from a kitchen knife.",
    "sol1": "Soak the blade in white vinegar overnight, then scrub it with steel wool and rinse.",
    "sol2": "Soak the blade in olive oil for an hour and wipe it.",
    "label": 0,
}
SIQA = {
    "context": "Tracy resisted Riley's attacks in the dark alley behind the cinema.",
    "question": "How would Riley feel afterwards?",
    "answerA": "angry",
    "answerB": "happy",
    "answerC": "proud",
    "label": "1",
}
HELLASWAG = {
    "ind": 4,
    "activity_label": "Removing ice from car",
    "ctx_a": "A man scrapes ice off the windshield.",
    "ctx_b": "he",
    "ctx": "A man scrapes ice off the windshield.",
    "endings": [
        "pours hot water from a kettle over the glass and the ice melts away quickly.",
        "stands on the roof of the car and dances in the falling snow all night.",
        "puts the scraper in his pocket and walks home.",
        "drives away.",
    ],
    "label": "0",
}
WINOGRANDE = {
    "sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
    "option1": "Sarah",
    "option2": "Maria",
    "answer": "1",
}
LOGIQA = {
    "label": "b",
    "context": "All dogs in the house sleep on mats. Rex is a dog in the house, and so is Fido.",
    "query": "Which must be true?",
    "options": ["Rex sleeps on the bed.", "Rex sleeps on a mat.", "Rex is a cat.", "None of the above."],
}
GENERIC_MC = {
    "id": "Generic_1",
    "question": "Which of the following statements is true?",
    "choices": {"text": ["Ice is hot.", "Fire is cold.", "Water is wet.", "Rocks float."], "label": list("ABCD")},
    "answerKey": "C",
}

HOLE_NEW = "hole (new in 7d3df0c, refused before): "


# -- the question with its answer, where the record has a longer text --------------------------
def test_arc_short_question_with_its_answer(ws: Workspace) -> None:
    _seeds(ws, [ARC], [{"question": ARC["question"], "answer": "the tilt of Earth's axis"}])
    _refused(ws)


def test_arc_short_question_with_reworded_options(ws: Workspace) -> None:
    row = {"question": ARC["question"], "choices": ["the axis tilt", "distance to the Sun", "the Moon", "clouds"]}
    _seeds(ws, [ARC], [{**row, "answer": "the axis tilt"}])
    _refused(ws)


def test_sciq_question_with_its_answer(ws: Workspace) -> None:
    _seeds(ws, [SCIQ], [{"question": SCIQ["question"], "answer": "oxygen"}])
    _refused(ws)


def test_boolq_question_with_its_answer(ws: Workspace) -> None:
    _seeds(ws, [BOOLQ], [{"question": BOOLQ["question"], "answer": "yes"}])
    _refused(ws)


def test_openbookqa_stem_with_its_answer(ws: Workspace) -> None:
    _seeds(ws, [OBQA], [{"question": OBQA["question_stem"], "answer": "plants sprouting and blooming"}])
    _refused(ws)


def test_triviaqa_rc_question_with_its_answer(ws: Workspace) -> None:
    _seeds(ws, [TRIVIA_RC], [{"question": TRIVIA_RC["question"], "answer": "Michelangelo"}])
    _refused(ws)


def test_gsm8k_short_question_with_its_answer(ws: Workspace) -> None:
    record = {
        "question": "How many legs do seven spiders have?",
        "answer": "Each spider has 8 legs, so seven spiders have 7 * 8 = <<7*8=56>>56 legs in all.\n#### 56",
    }
    _seeds(ws, [record], [{"question": record["question"], "answer": "56"}])
    _refused(ws)


# -- the short path (found whole inside, one word away) -----------------------------------------
def test_sciq_question_behind_a_prefix(ws: Workspace) -> None:
    _seeds(ws, [SCIQ_LONGER], [{"question": "Question: " + SCIQ_LONGER["question"], "answer": "oxygen"}])
    _refused(ws)


@pytest.mark.xfail(strict=True, reason=HOLE_NEW + "sciq question and its answer inside study notes")
def test_sciq_question_inside_a_passage(ws: Workspace) -> None:
    notes = f"Study notes for the biology test. {SCIQ_LONGER['question']} The answer is oxygen, remember it."
    _seeds(ws, [SCIQ_LONGER], [{"context": notes, "question": "Summarise the notes.", "answer": "oxygen"}])
    _refused(ws)


def test_piqa_goal_and_solution_each_one_word_off(ws: Workspace) -> None:
    row = {
        "goal": "Remove rust from a pocket knife.",
        "sol1": "Soak the blade in white vinegar overnight, then scrub it with steel wool and dry.",
        "sol2": "Bake the knife in a hot oven.",
        "label": 0,
    }
    _seeds(ws, [PIQA], [row])
    _refused(ws)


def test_piqa_goal_with_its_solution_reworded(ws: Workspace) -> None:
    row = {"question": PIQA["goal"], "answer": "Leave it in vinegar for a night and scrub it with steel wool."}
    _seeds(ws, [PIQA], [row])
    _refused(ws)


def test_social_iqa_context_edited_question_and_answer_exact(ws: Workspace) -> None:
    row = {
        "context": "Tracy resisted Riley's punches in the dark alley behind the theatre.",
        "question": SIQA["question"],
        "answer": "angry",
    }
    _seeds(ws, [SIQA], [row])
    _refused(ws)


def test_hellaswag_context_with_its_ending_edited(ws: Workspace) -> None:
    ending = "he pours warm water from a kettle over the glass and the ice melts away fast."
    _seeds(ws, [HELLASWAG], [{"question": HELLASWAG["ctx"], "answer": ending}])
    _refused(ws)


def test_boolq_question_joined_with_its_answer(ws: Workspace) -> None:
    record = dict(BOOLQ, question="is windows movie maker part of windows essentials")
    camel = "".join(w.capitalize() for w in record["question"].split())  # IsWindowsMovieMakerPartOf…
    _seeds(ws, [record], [{"question": camel, "answer": "yes"}])
    _refused(ws)


def test_social_iqa_row_rechecked_after_fetch_eval(ws: Workspace) -> None:
    row = {
        "context": "Tracy resisted Riley's punches in the dark alley behind the theatre.",
        "question": SIQA["question"],
        "answer": "angry",
    }
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([row])}))
    assert ws.fetch().exit_code == 0
    _store(ws, [SIQA])
    result = ws.plan()
    ws.assert_refused(result, rows_read=True)
    assert "seed rows are eval rows" in _apply_seed_read(ws)


# -- holes that were there before 7d3df0c too --------------------------------------------------
def test_short_eval_question_repeated_in_three_rows(ws: Workspace) -> None:
    rows = [{"question": TRIVIA["question"], "answer": a} for a in ("Michelangelo", "Raphael", "Leonardo")]
    _seeds(ws, [TRIVIA], rows)
    _refused(ws)


@pytest.mark.xfail(strict=True, reason="hole (before 7d3df0c too): one word swapped in a 14-word text, 9 content words")
def test_winogrande_sentence_one_word_off(ws: Workspace) -> None:
    row = dict(WINOGRANDE, sentence=WINOGRANDE["sentence"].replace("harder", "easier"), answer="2")
    _seeds(ws, [WINOGRANDE], [row])
    _refused(ws)


def test_short_eval_row_copied_three_times(ws: Workspace) -> None:
    _seeds(ws, [TRIVIA], [{"question": TRIVIA["question"], "answer": "Michelangelo"}] * 3)
    _refused(ws)


@pytest.mark.xfail(
    strict=True,
    reason="hole (before 7d3df0c too): normal_text collapses 'Charleston. Charleston' in the eval text, so the "
    "joined copy (which keeps both) matches nothing",
)
def test_gsm8k_question_joined_where_a_word_repeats_across_sentences(ws: Workspace) -> None:
    record = {
        "question": "Toulouse has twice as many sheep as Charleston. Charleston has 4 times as many sheep as "
        "Seattle. How many sheep do they have together if Seattle has 20 sheep?",
        "answer": "Charleston has 4 * 20 = <<4*20=80>>80 sheep\nToulouse has 2 * 80 = <<2*80=160>>160 sheep\n"
        "Together they have 20 + 80 + 160 = <<20+80+160=260>>260 sheep\n#### 260",
    }
    joined = "".join(str(record["question"]).split())  # "…asCharleston.Charlestonhas4times…"
    _seeds(ws, [record], [{"question": joined, "answer": "260"}])
    _refused(ws)


def test_template_assembled_question_with_columns_out_of_order(ws: Workspace) -> None:
    from test_content import EVAL, with_eval_store

    rows = []
    for r in EVAL:
        w = str(r["question"]).split()
        k = len(w) // 3  # no 13 words of the question in a row's own (c, a, b) order
        rows.append({"c": " ".join(w[2 * k :]), "a": " ".join(w[:k]), "b": " ".join(w[k : 2 * k]), "answer": "blue"})
    spec = (
        "task: attack\nformat: short_answer\n"
        "seed: {files: ../data/train.jsonl, license: mit, columns: [a, b, c, answer]}\n"
        'fields: {question: "{{ a }} {{ b }} {{ c }}", answer: "{{ answer }}"}\n'
    )
    ws.build(Attack(spec, {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    _refused(ws)


# -- refused correctly -------------------------------------------------------------------------
def test_triviaqa_question_is_its_record(ws: Workspace) -> None:
    _seeds(ws, [TRIVIA], [{"question": TRIVIA["question"], "answer": "Michelangelo"}])
    _refused(ws)


def test_triviaqa_question_one_word_off(ws: Workspace) -> None:
    question = TRIVIA["question"].replace("painted", "decorated")
    _seeds(ws, [TRIVIA], [{"question": question, "answer": "Michelangelo"}])
    _refused(ws)


def test_arc_question_with_a_choice_copied(ws: Workspace) -> None:
    """The short question is confirmed by a copied choice (another of the record's texts)."""
    row = {"question": ARC["question"], "answer": ARC["choices"]["text"][0]}  # type: ignore[index]
    _seeds(ws, [ARC], [row])
    _refused(ws)


def test_piqa_goal_exact_with_a_solution_one_word_off(ws: Workspace) -> None:
    row = {"goal": PIQA["goal"], "sol1": PIQA["sol1"].replace("rinse", "dry"), "sol2": "Bake it.", "label": 0}
    _seeds(ws, [PIQA], [row])
    _refused(ws)


def test_logiqa_generic_question_over_the_same_passage(ws: Workspace) -> None:
    row = dict(LOGIQA, options=["a", "b", "c", "d"])
    _seeds(ws, [LOGIQA], [row])
    _refused(ws)


def test_social_iqa_question_with_an_answer_copied(ws: Workspace) -> None:
    row = {"context": "Someone else entirely.", "question": SIQA["question"], "answer": "angry"}
    record = dict(SIQA, answerA="angry and upset with Tracy")
    _seeds(ws, [record], [dict(row, answer=record["answerA"])])
    _refused(ws)


# -- false positives: training rows that are not eval rows -------------------------------------
def test_logiqa_generic_question_over_another_passage_passes(ws: Workspace) -> None:
    """The case 7d3df0c fixed (control)."""
    row = {
        "label": "a",
        "context": "All teachers at the school are graduates of the city college.",
        "query": "Which must be true?",
        "options": ["Some graduates are not teachers.", "No teacher lacks a degree.", "All are.", "None are."],
    }
    _seeds(ws, [LOGIQA], [row])
    _accepted(ws)


def test_hellaswag_shared_activity_label_passes(ws: Workspace) -> None:
    """Training and eval rows share ActivityNet labels ("Removing ice from car"): not the eval row."""
    row = {
        "activity_label": "Removing ice from car",
        "ctx": "A woman sprays de-icer on the lock of her car door and waits.",
        "endings": ["she opens the door and gets in.", "she sings to the lock."],
        "label": "0",
    }
    _seeds(ws, [HELLASWAG], [row])
    _accepted(ws)


def test_logiqa_generic_question_and_generic_option_over_another_passage(ws: Workspace) -> None:
    row = {
        "label": "a",
        "context": "All teachers at the school are graduates of the city college.",
        "query": "Which must be true?",
        "options": ["Some graduates are not teachers.", "No teacher lacks a degree.", "All are.", "None of the above."],
    }
    _seeds(ws, [LOGIQA], [row])
    _accepted(ws)


@pytest.mark.xfail(strict=True, reason="false positive: a generic question that is its record's longest text")
def test_generic_question_over_other_options(ws: Workspace) -> None:
    row = {
        "question": GENERIC_MC["question"],
        "choices": ["Cats bark.", "Dogs fly.", "Fish swim.", "Birds read."],
        "answer": "Fish swim.",
    }
    _seeds(ws, [GENERIC_MC], [row])
    _accepted(ws)


@pytest.mark.xfail(strict=True, reason="false positive: one word from a generic question ('true' → 'false')")
def test_generic_question_one_word_off_over_other_options(ws: Workspace) -> None:
    row = {
        "question": "Which of the following statements is false?",
        "choices": ["Cats bark.", "Dogs fly.", "Fish swim.", "Birds read."],
        "answer": "Cats bark.",
    }
    _seeds(ws, [GENERIC_MC], [row])
    _accepted(ws)


@pytest.mark.xfail(
    strict=True,
    reason="false positive: a generic logiqa question of 8+ words is the eval row over any passage "
    "(`long_enough` skips the new confirmation)",
)
def test_long_generic_logiqa_question_over_another_passage(ws: Workspace) -> None:
    record = dict(LOGIQA, query="Which of the following, if true, most strengthens the argument above?")
    row = {
        "label": "a",
        "context": "All teachers at the school are graduates of the city college.",
        "query": record["query"],
        "options": ["Some graduates are not teachers.", "No teacher lacks a degree.", "All are.", "None are."],
    }
    _seeds(ws, [record], [row])
    _accepted(ws)


def test_triviaqa_training_row_sharing_only_the_record_keys(ws: Workspace) -> None:
    """A one- or two-row triviaqa seed (a `limit`, a sample) beside an eval store of one or two records."""
    shape = {
        "question_source": "http://www.triviaquiz.example/",
        "entity_pages": {"doc_source": [], "filename": [], "title": [], "wiki_context": []},
        "answer": {
            "matched_wiki_entity_name": "",
            "normalized_matched_wiki_entity_name": "",
            "type": "WikipediaEntity",
        },
    }
    record = {**shape, "question": "Who was the man behind The Chipmunks", "question_id": "tc_33"}
    row = {**shape, "question": "Where in England was Dame Judi Dench born", "question_id": "tc_3"}
    _seeds(ws, [record], [row])
    _accepted(ws)
