"""Golden values of the MinHash, shingle and band-key definitions, written down as literals.

Persisted dedup indexes and every saved run depend on these exact numbers: a change to hashing,
shingling (word or char, digits kept or not), permutation seeds or banding must fail here, and go
with a bump of ALGORITHM_VERSION (which makes old indexes refuse to load instead of silently
mismatching). Every kernel must give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tsqa import _native
from tsqa.curate.neardup import band_keys, minhash_signatures

TEXTS = ["the quick brown fox jumps over the lazy dog", "Zürich 2024: 3 + 4 = 7"]
KERNELS = ["scalar", "auto"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_word_shingle_signatures(kernel: str) -> None:
    assert minhash_signatures(TEXTS, num_perm=8, ngram=2, kernel=kernel).tolist() == [  # type: ignore[arg-type]
        [633824044, 525646120, 1603983324, 366184905, 351511699, 67248214, 782516370, 90670933],
        [185567844, 296409696, 1564722560, 276591179, 3270560207, 1457410871, 70467158, 908333882],
    ]


@pytest.mark.parametrize("kernel", KERNELS)
def test_char_shingle_signatures(kernel: str) -> None:
    sig = minhash_signatures(TEXTS, num_perm=8, ngram=3, shingle="char", kernel=kernel)  # type: ignore[arg-type]
    assert sig.tolist() == [
        [4646035, 87784966, 345274902, 362814951, 44354826, 58985515, 122276636, 81603172],
        [387208513, 191282271, 173223552, 644193080, 325033427, 234062988, 181004622, 274753656],
    ]


def test_digits_dropped_change_only_texts_with_digits() -> None:
    sig = minhash_signatures(TEXTS, num_perm=8, ngram=2, keep_digits=False, kernel="scalar")
    assert sig[0].tolist() == [633824044, 525646120, 1603983324, 366184905, 351511699, 67248214, 782516370, 90670933]
    assert sig[1].tolist() == [
        650070401, 306475651, 2391935401, 886486052, 2231329371, 4146539695, 693964649, 1369648551,
    ]  # fmt: skip


def test_permutation_seed() -> None:
    assert minhash_signatures(TEXTS[:1], num_perm=8, ngram=2, seed=7).tolist() == [
        [92123693, 842603197, 479041415, 106546406, 493237637, 455457651, 157689454, 552858632]
    ]


def test_band_keys() -> None:
    keys = band_keys(TEXTS, num_perm=8, ngram=2, bands=4, rows=2)
    assert keys.dtype == np.uint64
    assert keys.tolist() == [
        [4640492121676761658, 8746534068960579601],
        [12385832579553657538, 8714746371158484542],
        [1993776871709266508, 5535677257045659357],
        [1336707212939095613, 582386400821492760],
    ]


def test_algorithm_version() -> None:
    assert _native.ALGORITHM_VERSION == 1
