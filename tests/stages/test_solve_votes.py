"""solve's collect votes every question of a chunk in one call of the vote core
(`votes_in_original_order_many`): the votes are those of one call per question."""

from __future__ import annotations

import json
import random

from tsqa.stages.option_order import vote_orders, votes_in_original_order
from tsqa.stages.solve import votes_in_original_order_many


def test_batched_votes_equal_per_question_votes() -> None:
    rng = random.Random(2)
    questions = []
    for q in range(300):
        n = rng.choice([2, 3, 4, 5])
        options = [f"option {q}.{j}" for j in range(n)]
        orders = vote_orders(n, 5, key=f"t/{q}", seed=0)
        texts = [
            rng.choice(
                [
                    json.dumps({"answer": rng.choice("ABCDEZ")}),
                    "The final answer is: (B)",
                    options[rng.randrange(n)],
                    "",
                    "no idea",
                    json.dumps({"answer": 3}),
                ]
            )
            for _ in orders
        ]
        questions.append((q, texts, orders, options))
    batched = votes_in_original_order_many(questions)
    assert batched == [votes_in_original_order(t, o, opts) for _, t, o, opts in questions]
    assert any(v for votes in batched for v in votes) and any(not v for votes in batched for v in votes)
    assert votes_in_original_order_many([]) == []
