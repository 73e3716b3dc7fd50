"""Accuracy against the generator's ground truth.

- Ground-truth components: connected components of the pairs with exact J ≥ threshold.
- Pair recall: share of ground-truth pairs with J ≥ threshold whose records share a cluster.
- Detection curve: that share per J bin, over pairs planted alone (groups of two), so that
  transitive merges inside stars and chains do not blur it; below the threshold it is the
  false-merge rate.
- Pair precision: of the predicted pairs (record, its kept representative), the share inside one
  ground-truth component (clusters are transitive, so the representative may be two edits away).
- Document precision/recall: a record is a true duplicate when its ground-truth component has a
  lower record; predicted duplicates are the records not kept.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

BINS = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.01]


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(x) for x in range(n)])


def evaluate(truth_path: Path, labels: np.ndarray, threshold: float) -> dict[str, Any]:
    t = pq.read_table(truth_path)
    i, j, jac, gsize = (t.column(c).to_numpy() for c in ("i", "j", "jaccard", "group_size"))
    n = len(labels)
    pos = jac >= threshold
    comp = components(n, i[pos], j[pos])
    same = labels[i] == labels[j]
    curve = []
    for lo, hi in pairwise(BINS):
        m = (jac >= lo) & (jac < hi) & (gsize == 2)
        curve.append(
            {
                "lo": lo,
                "hi": min(hi, 1.0),
                "pairs": int(m.sum()),
                "detected": float(same[m].mean()) if m.any() else None,
            }
        )
    dup = labels != np.arange(n)
    pred_ok = comp[dup] == comp[labels[dup]]
    true_dup = comp != np.arange(n)  # the component's lowest record is kept
    return {
        "pair_recall": float(same[pos].mean()) if pos.any() else None,
        "pair_precision": float(pred_ok.mean()) if dup.any() else 1.0,
        "doc_precision": float(true_dup[dup].mean()) if dup.any() else 1.0,
        "doc_recall": float(dup[true_dup].mean()) if true_dup.any() else 1.0,
        "false_merges_below": float(same[~pos & (gsize == 2)].mean()) if (~pos & (gsize == 2)).any() else 0.0,
        "predicted_duplicates": int(dup.sum()),
        "true_duplicates": int(true_dup.sum()),
        "curve": curve,
    }
