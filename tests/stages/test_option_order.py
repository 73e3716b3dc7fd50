"""Position-bias removal: seeded option shuffles and per-sample vote orders."""

from __future__ import annotations

import json

import pytest

from tsqa.curate.vote import majority_vote
from tsqa.spec.models import VoteVerify
from tsqa.stages.option_order import (
    choice_schema,
    chosen_indices,
    permutation,
    position_bias_votes,
    position_counts,
    reorder,
    shuffle_example_options,
    shuffle_options,
    text_choice_schema,
    uniformity_p_value,
    vote_orders,
    votes_in_original_order,
)
from tsqa.stages.output_schema import LETTERS
from tsqa.stages.verify import verify_by_vote


def scripted_generator(i: int, n_options: int) -> tuple[str, list[str], int]:
    """A biased generator: the correct option is always first."""
    return f"Question {i}?", [f"right {i}"] + [f"wrong {i}.{j}" for j in range(1, n_options)], 0


@pytest.mark.parametrize("n_options", [2, 3, 4, 5])
def test_answer_first_generator_gives_uniform_packaged_positions(n_options: int) -> None:
    before, after = [], []
    for i in range(600):
        _, options, answer = scripted_generator(i, n_options)
        shuffled, new_answer = shuffle_options(options, answer, key=f"task/q{i}", seed=0)
        assert sorted(shuffled) == sorted(options) and shuffled[new_answer] == options[answer]
        before.append(answer)
        after.append(new_answer)
    assert uniformity_p_value(position_counts(before, n_options)) < 1e-6  # the bias is detectable
    p = uniformity_p_value(position_counts(after, n_options))
    assert p is not None and p > 0.01, position_counts(after, n_options)


def test_shuffle_is_seeded_and_keyed() -> None:
    options = ["a", "b", "c", "d", "e"]
    assert shuffle_options(options, 2, key="k", seed=1) == shuffle_options(options, 2, key="k", seed=1)
    orders = {tuple(shuffle_options(options, 0, key=f"k{i}", seed=1)[0]) for i in range(50)}
    assert len(orders) > 20  # keys give different orders
    assert shuffle_options(options, 0, key="k", seed=1) != shuffle_options(options, 0, key="k", seed=2) or (
        shuffle_options(options, 0, key="k2", seed=1) != shuffle_options(options, 0, key="k2", seed=2)
    )
    with pytest.raises(ValueError, match="outside"):
        shuffle_options(options, 5, key="k")


def test_pinned_orders() -> None:
    """Golden values: packaged option orders (parse, PARSER_VERSION 3) and the worked example's order
    in rendered prompts (cached requests) change only on purpose."""
    assert [permutation(5, 0, "options", f"q{i}") for i in range(3)] == [
        [2, 0, 4, 1, 3],
        [1, 2, 3, 0, 4],
        [3, 0, 1, 4, 2],
    ]
    assert shuffle_options(["a", "b", "c", "d"], 0, key="k") == (["b", "a", "c", "d"], 1)
    assert shuffle_example_options(["a", "b", "c", "d"], 0, key="k") == (["d", "a", "b", "c"], 1)
    assert all(sorted(permutation(n, 0, "k")) == list(range(n)) for n in range(27))


def test_vote_orders_put_each_option_in_a_different_position() -> None:
    orders = vote_orders(4, 4, key="q", seed=0)
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    for position in range(4):
        assert len({o[position] for o in orders}) == 4  # a Latin square: no repeats per position
    assert vote_orders(4, 3, key="q", seed=0) == orders[:3]
    assert vote_orders(4, 3, key="q", seed=0) != vote_orders(4, 3, key="other", seed=0) or vote_orders(
        4, 3, key="q", seed=0
    ) != vote_orders(4, 3, key="third", seed=0)


def _always_first(shown: list[str]) -> str:
    return "Looking at the options, the final answer is: A"


def _knows_the_answer(shown: list[str], right: str) -> str:
    return f"The final answer is: {LETTERS[shown.index(right)]}"


@pytest.mark.parametrize(("n_options", "samples"), [(4, 3), (5, 3), (4, 4), (3, 3), (2, 3)])
def test_a_first_option_solver_gets_no_agreement_from_permuted_votes(n_options: int, samples: int) -> None:
    questions, permuted, fixed = [], [], []
    for i in range(100):
        _, options, answer = scripted_generator(i, n_options)
        options, answer = shuffle_options(options, answer, key=f"q{i}")
        orders = vote_orders(n_options, samples, key=f"q{i}")
        texts = [_always_first(reorder(options, o)) for o in orders]
        questions.append({"question_id": f"q{i}", "options": options, "answer_index": answer})
        permuted.append(votes_in_original_order(texts, orders, options))
        fixed.append([_always_first(options)] * samples)  # the same order for every sample
    ceiling = position_bias_votes(n_options, samples)
    result = majority_vote(permuted, mode="multiple_choice", options=[q["options"] for q in questions])
    assert max(result.votes.tolist()) <= ceiling  # the position preference spreads over options
    rule = VoteVerify(samples=samples, min_agreement=0.5)
    unpermuted = verify_by_vote(questions, fixed, "multiple_choice", rule).table.to_pylist()
    assert all(v["agreement"] == 1.0 for v in unpermuted)  # without permutations: unanimous, fake
    assert sum(v["kept"] for v in unpermuted) > 0  # ... and kept whenever the answer happened to be "A"
    verdicts = verify_by_vote(questions, permuted, "multiple_choice", rule).table.to_pylist()
    faked = [v for v in verdicts if v["votes"] > ceiling]
    assert faked == []  # a verdict needs more than `ceiling` votes: none reaches it
    if ceiling / samples < 0.5:
        assert not any(v["kept"] for v in verdicts)


def test_a_solver_that_knows_the_answer_is_unanimous_on_text() -> None:
    options = ["Paris", "Rome", "Oslo", "Bern"]
    orders = vote_orders(4, 3, key="capital")
    texts = [_knows_the_answer(reorder(options, o), "Paris") for o in orders]
    assert chosen_indices(texts, orders, options) == [0, 0, 0]
    votes = votes_in_original_order(texts, orders, options)
    result = majority_vote([votes], mode="multiple_choice", options=[options])
    assert result.winner_text.to_pylist() == ["Paris"] and result.votes.tolist() == [3]
    # Answering with the option text instead of a letter maps the same way; nothing extractable is empty.
    assert chosen_indices(["The final answer is: Oslo", "no idea"], orders[:2], options) == [2, None]
    assert votes_in_original_order(["no idea"], orders[:1], options) == [""]
    # A schema-constrained sample: {"answer": letter} in the order that sample saw.
    shown = reorder(options, orders[0])
    assert chosen_indices([json.dumps({"answer": LETTERS[shown.index("Bern")]})], orders[:1], options) == [3]
    assert choice_schema(3)["properties"]["answer"]["enum"] == ["A", "B", "C"]  # type: ignore[index]


def test_text_answers_count_on_option_text() -> None:
    """`answer_by: text`: each sample names its option by text (schema: an enum of the shown
    options); the vote maps every text to the option in the question's own order."""
    options = ["Paris", "Rome", "Oslo", 'The "old" port']
    orders = vote_orders(4, 3, key="capital")
    shown = [reorder(options, o) for o in orders]
    enum = text_choice_schema(shown[0])["properties"]["answer"]["enum"]  # type: ignore[index]
    assert enum == shown[0]  # the options in the order this sample sees them
    assert text_choice_schema(["a", "b", "a"])["properties"]["answer"]["enum"] == ["a", "b"]  # type: ignore[index]
    texts = [json.dumps({"answer": "Oslo"})] * 3
    assert chosen_indices(texts, orders, options, by_text=True) == [2, 2, 2]
    votes = votes_in_original_order(texts, orders, options, by_text=True)
    result = majority_vote([votes], mode="multiple_choice", options=[options])
    assert result.winner_text.to_pylist() == ["Oslo"] and result.votes.tolist() == [3]
    quoted = json.dumps({"answer": 'The "old" port'})
    assert chosen_indices([quoted], orders[:1], options, by_text=True) == [3]
    # A reply that is not an exact option text still goes through the extractor (letters as shown).
    letter = json.dumps({"answer": LETTERS[shown[0].index("Rome")]})
    assert chosen_indices([letter, "no idea"], orders[:2], options, by_text=True) == [1, None]
    # Repeated option texts: the text is the first option with it.
    assert chosen_indices([json.dumps({"answer": "x"})], [(1, 0)], ["x", "x"], by_text=True) == [0]


@pytest.mark.parametrize(("n_options", "samples"), [(4, 3), (2, 3), (5, 5)])
def test_a_first_option_text_solver_gets_no_agreement(n_options: int, samples: int) -> None:
    """A solver that copies whatever option is shown first: with permuted orders its texts spread."""
    ceiling = position_bias_votes(n_options, samples)
    for i in range(50):
        _, options, answer = scripted_generator(i, n_options)
        options, answer = shuffle_options(options, answer, key=f"q{i}")
        orders = vote_orders(n_options, samples, key=f"q{i}")
        texts = [json.dumps({"answer": reorder(options, o)[0]}) for o in orders]
        votes = votes_in_original_order(texts, orders, options, by_text=True)
        result = majority_vote([votes], mode="multiple_choice", options=[options])
        assert result.votes.tolist()[0] <= ceiling


def test_position_helpers() -> None:
    assert position_counts([0, 1, 1, None, 7], 3) == [1, 2, 0]
    assert uniformity_p_value([0, 0]) is None and uniformity_p_value([5]) is None
    assert uniformity_p_value([25, 25, 25, 25]) == pytest.approx(1.0)
    assert position_bias_votes(4, 3) == 1 and position_bias_votes(2, 3) == 2 and position_bias_votes(3, 7) == 3
    with pytest.raises(ValueError, match="samples"):
        chosen_indices(["x"], [], ["a", "b"])
