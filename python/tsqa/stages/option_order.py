"""Multiple choice without position bias: seeded option orders (pure functions).

Generators put the right answer in favourite positions (and some seed tasks fix it: sciq's answer is
always last), and solvers prefer positions too. Two defences:

* `shuffle_options`: each generated question's options are permuted with a seeded shuffle keyed by
  the question's content, so the answer's position is uniform over the packaged rows whatever the
  generator did (and the same on every run). The permutation is decoded from a 128-bit BLAKE2b
  digest (a few µs; parse calls it once per question). Worked examples in prompts and the vote
  orders keep their numpy-Generator permutations: those orders are part of rendered prompts, so
  changing them would change every cached model request.
* `vote_orders` + `votes_in_original_order`: each vote sample sees its own option order, and every
  sample's choice is mapped back to option *text* before the vote, so a solver that always picks
  "A" spreads its votes over different options and cannot fake agreement. The orders are rotations
  of one seeded permutation (a Latin square), so with k ≤ n samples every position shows a different
  option, and a pure position preference gives at most ceil(k / n) of k votes to any option.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from tsqa.curate.vote import majority_vote
from tsqa.stages.output_schema import LETTERS

Order = tuple[int, ...]
"""order[j] = index (in the question's own option list) of the option shown at position j."""


def _rng(seed: int | None, *key: str) -> np.random.Generator:
    digest = hashlib.blake2b("\x1f".join((str(seed), *key)).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def permutation(n: int, seed: int | None, *key: str) -> list[int]:
    """A seeded permutation of range(n): the 128-bit BLAKE2b digest of the key, taken modulo n!, read
    as a Lehmer code (uniform up to a bias of n!/2¹²⁸, below 10⁻¹¹ for the ≤ 26 options a letter can
    name)."""
    digest = hashlib.blake2b("\x1f".join((str(seed), *key)).encode(), digest_size=16).digest()
    code = int.from_bytes(digest, "little")
    left = list(range(n))
    out = []
    for size in range(n, 0, -1):
        code, pick = divmod(code, size)
        out.append(left.pop(pick))
    return out


def shuffle_options(
    options: Sequence[str], answer_index: int, *, key: str, seed: int | None = 0
) -> tuple[list[str], int]:
    """The options in a seeded random order and the answer's new index (uniform over positions)."""
    if not 0 <= answer_index < len(options):
        raise ValueError(f"answer_index {answer_index} outside {len(options)} options")
    perm = permutation(len(options), seed, "options", key)
    return [options[i] for i in perm], perm.index(answer_index)


def shuffle_example_options(
    options: Sequence[str], answer_index: int, *, key: str, seed: int | None = 0
) -> tuple[list[str], int]:
    """`shuffle_options` for a prompt's worked example, with the numpy Generator it has always used:
    the order is part of the rendered prompt, so a new permutation would miss every cached request."""
    if not 0 <= answer_index < len(options):
        raise ValueError(f"answer_index {answer_index} outside {len(options)} options")
    perm = _rng(seed, "options", key).permutation(len(options)).tolist()
    return [options[i] for i in perm], perm.index(answer_index)


def vote_orders(n_options: int, samples: int, *, key: str, seed: int | None = 0) -> list[Order]:
    """One option order per vote sample: rotations of a seeded base permutation, from a seeded
    offset, so consecutive samples show every option in a different position."""
    if n_options < 1 or samples < 0:
        raise ValueError(f"need n_options ≥ 1 and samples ≥ 0, got {n_options}, {samples}")
    rng = _rng(seed, "votes", key)
    base = rng.permutation(n_options).tolist()
    offset = int(rng.integers(n_options))
    out = []
    for s in range(samples):
        shift = (offset + s) % n_options
        out.append(tuple(base[shift:] + base[:shift]))
    return out


def choice_schema(n_options: int) -> dict[str, object]:
    """The JSON a multiple-choice vote sample must return: one valid option letter. Structured
    decoding makes every sample a vote (a small model otherwise answers "E" to four options, or
    rambles past max_tokens), so agreement measures the model, not its formatting."""
    return {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": list(LETTERS[:n_options])}},
        "required": ["answer"],
        "additionalProperties": False,
    }


def text_choice_schema(shown: Sequence[str]) -> dict[str, object]:
    """`verify.answer_by: text`: the JSON a vote sample must return names its option by text, one
    of the options as this sample sees them (an enum, in the shown order; repeated texts once)."""
    return {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": list(dict.fromkeys(shown))}},
        "required": ["answer"],
        "additionalProperties": False,
    }


def _json_answer(text: str) -> str:
    """`{"answer": "B"}` → "B" (a schema-constrained sample); any other text as it is."""
    import json

    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, dict) and isinstance(value.get("answer"), str):
            return str(value["answer"])
    return text


def reorder(options: Sequence[str], order: Order) -> list[str]:
    """The options as one sample sees them."""
    return [options[i] for i in order]


def chosen_indices(
    texts: Sequence[str], orders: Sequence[Order], options: Sequence[str], *, by_text: bool = False
) -> list[int | None]:
    """Per sample, the index (in `options`' own order) of the option it chose, read in the order that
    sample saw (letter or option text, by the Rust vote core's extractor); None when none is found.
    `by_text` (`answer_by: text`): a JSON answer that is exactly an option's text is that option
    (the first with that text), whatever position the sample saw it in."""
    if len(texts) != len(orders):
        raise ValueError(f"{len(texts)} samples but {len(orders)} orders")
    if not texts:
        return []
    if by_text:
        first = {text: i for i, text in reversed(list(enumerate(options)))}
        exact = [first.get(_json_answer(t).strip()) for t in texts]
        if all(i is not None for i in exact):
            return exact
        # a sample that is not an exact option text (free text, a letter): the extractor below
        fallback = chosen_indices(texts, orders, options)
        return [e if e is not None else f for e, f in zip(exact, fallback, strict=True)]
    shown = [reorder(options, o) for o in orders]
    picked = majority_vote([[_json_answer(t)] for t in texts], mode="multiple_choice", options=shown).winner.to_pylist()
    out: list[int | None] = []
    for letter, order in zip(picked, orders, strict=True):
        position = LETTERS.find(letter) if isinstance(letter, str) and len(letter) == 1 else -1
        out.append(order[position] if 0 <= position < len(order) else None)
    return out


def votes_in_original_order(
    texts: Sequence[str], orders: Sequence[Order], options: Sequence[str], *, by_text: bool = False
) -> list[str]:
    """The samples rewritten as "The final answer is: <letter>" of the chosen option in the
    question's own order (an empty string where nothing was extracted), ready for the ordinary
    multiple-choice vote: each letter stands for one option text, whatever position a sample saw."""
    return [
        "" if index is None else f"The final answer is: {LETTERS[index]}"
        for index in chosen_indices(texts, orders, options, by_text=by_text)
    ]


def position_bias_votes(n_options: int, samples: int) -> int:
    """The most votes one option can get from a solver that picks by position alone under
    `vote_orders` (ceil(k / n)); a verdict needs more than this to count as agreement. With 4
    options and 3 samples it is 1; with 2 options and 3 samples it is 2 (so only 3/3 counts)."""
    return -(-samples // n_options) if n_options > 0 else samples


def position_counts(answer_indices: Sequence[int | None], n_options: int) -> list[int]:
    """How often the answer sits at each position (rows with another option count are skipped)."""
    counts = [0] * n_options
    for index in answer_indices:
        if index is not None and 0 <= index < n_options:
            counts[index] += 1
    return counts


def uniformity_p_value(counts: Sequence[int]) -> float | None:
    """χ² goodness-of-fit p-value of position counts against uniform (None with no rows or one
    position): small values mean a position bias."""
    from scipy.stats import chisquare  # type: ignore[import-untyped]

    if len(counts) < 2 or sum(counts) == 0:
        return None
    return float(chisquare(np.asarray(counts, dtype=float)).pvalue)
