"""Quality measures over texts and rows (pure functions; MinHash from the Rust core)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tsqa.curate.neardup import minhash_signatures

_WORD = re.compile(r"\w+", re.UNICODE)
NGRAM = 3  # word 3-grams, as parse's near-copy check
NUM_PERM = 128
MAX_PAIRWISE = 400
"""Rows sampled for pairwise similarity (n² × num_perm comparisons stay ~20 M)."""
MAX_SAMPLE = 10_000
"""Texts (a seeded uniform sample above this) for distinct-n and the similarity of outputs to seeds:
the report's memory and time stay bounded whatever the task's size."""
_CHUNK = 1_000
"""Outputs compared with the seed sample at once (chunk × MAX_PAIRWISE × num_perm booleans)."""


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Distinct n-grams / all n-grams over the texts (Li et al., 2016); None without any n-gram."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        w = words(text)
        grams += [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def _signatures(texts: Sequence[str]) -> npt.NDArray[np.uint32]:
    return minhash_signatures(list(texts), ngram=NGRAM, num_perm=NUM_PERM)


def sample_indices(n: int, limit: int) -> npt.NDArray[np.int64]:
    """Sorted indices of a seeded uniform sample of `limit` of `n` rows (all of them when n ≤ limit)."""
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False)).astype(np.int64)


def _sample(texts: Sequence[str], limit: int) -> list[str]:
    return [texts[i] for i in sample_indices(len(texts), limit).tolist()]


def mean_pairwise_similarity(texts: Sequence[str]) -> float | None:
    """Mean estimated Jaccard (word 3-grams) over all pairs of texts; None for fewer than two."""
    sample = _sample(texts, MAX_PAIRWISE)
    if len(sample) < 2:
        return None
    sig = _signatures(sample)
    sim = (sig[:, None, :] == sig[None, :, :]).mean(axis=2)
    upper = np.triu_indices(len(sample), k=1)
    return float(sim[upper].mean())


def similarity_to_seeds(
    outputs: Sequence[str], own_seeds: Sequence[str], all_seeds: Sequence[str]
) -> tuple[float | None, float | None]:
    """(mean similarity of each output to its own seed, mean of each output's highest similarity to
    any seed of the task); None without outputs."""
    if not outputs or not all_seeds:
        return None, None
    out_sig = _signatures(outputs)
    own = float((out_sig == _signatures(own_seeds)).mean(axis=1).mean())
    seed_sig = _signatures(_sample(all_seeds, MAX_PAIRWISE))
    best = np.concatenate(
        [
            (out_sig[i : i + _CHUNK, None, :] == seed_sig[None, :, :]).mean(axis=2).max(axis=1)
            for i in range(0, len(out_sig), _CHUNK)
        ]
    )
    return own, float(best.mean())


def length_summary(values: Sequence[int] | npt.NDArray[np.int64]) -> dict[str, float] | None:
    if len(values) == 0:
        return None
    return {"median": float(np.median(values)), "mean": float(np.mean(values)), "max": float(np.max(values))}


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    counts, _ = np.histogram(np.asarray(values, dtype=float), bins=np.asarray(edges, dtype=float))
    return [int(c) for c in counts]
