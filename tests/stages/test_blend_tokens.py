"""Blend's token count on a column: the byte heuristic from the column's lengths equals the
heuristic counted text by text; a tokenizer still sees every text."""

from __future__ import annotations

import random

import pyarrow as pa

from tsqa.compile.tokens import HEURISTIC, TokenCounter
from tsqa.stages.blend import count_tokens


def test_heuristic_on_the_column_equals_the_count_per_text() -> None:
    rng = random.Random(1)
    texts = ["".join(rng.choice("ab é🙂\n") for _ in range(rng.randrange(60))) for _ in range(3_000)]
    column = pa.chunked_array([pa.array(texts[:1_000]), pa.array(texts[1_000:])])
    assert count_tokens(HEURISTIC, column) == sum(HEURISTIC.count_text(t) for t in texts)
    assert count_tokens(HEURISTIC, pa.chunked_array([], pa.string())) == 0


def test_other_counters_count_every_text() -> None:
    seen: list[str] = []

    def words(text: str) -> int:
        seen.append(text)
        return len(text.split())

    assert count_tokens(TokenCounter("words", words), pa.chunked_array([pa.array(["a b", "c"])])) == 3
    assert seen == ["a b", "c"]
