"""Seeded generator of Q&A-like records with planted near-duplicates of known exact Jaccard.

Families (each a group of related records; every pair inside a group gets its exact Jaccard of
word 5-gram sets computed with the reference tokenisation, so ground truth is exact):
- edits: a copy with k words substituted, inserted or deleted (k spread so J covers 0.5–1.0);
- option shuffles: the same multiple-choice item with its options permuted;
- hard negatives: a shared prompt template with new content, numbers-only differences of a
  math item, the same question with another answer (J lands on both sides of 0.8);
- stars: one record and up to 8 edited copies of it; chains: each record an edit of the previous;
- one bucket of 10,000 identical records.
Everything else is unrelated (J ≈ 0). Output: a Parquet file with `text` and a ground-truth
Parquet of pairs (i, j, jaccard).

    python -m benchmarks.dedup.generate --records 100000 --out benchmarks/dedup/out/corpus.parquet
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from benchmarks.dedup.shingles import jaccard

VOCAB_SIZE = 30_000


class Gen:
    def __init__(self, seed: int, record_bytes: int) -> None:
        self.rng = random.Random(seed)
        r = self.rng
        self.vocab = [
            "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 10))) for _ in range(VOCAB_SIZE)
        ]
        self.record_bytes = record_bytes

    def sentence(self, n_bytes: int) -> str:
        out: list[str] = []
        size = 0
        while size < n_bytes:
            w = self.rng.choice(self.vocab)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)

    def qa(self) -> str:
        r = self.rng
        body = self.record_bytes - 120
        q = self.sentence(int(body * 0.6))
        opts = [self.sentence(int(body * 0.1)) for _ in range(4)]
        return self.render(q, opts, r.randrange(4), self.sentence(30))

    @staticmethod
    def render(q: str, opts: list[str], ans: int, expl: str) -> str:
        letters = "ABCD"
        lines = [
            f"Question: {q}?",
            *[f"({letters[i]}) {o}" for i, o in enumerate(opts)],
            f"Answer: ({letters[ans]}) because {expl}.",
        ]
        return "\n".join(lines)

    def edit(self, text: str, k: int) -> str:
        """k random word substitutions, insertions or deletions."""
        w = text.split(" ")
        r = self.rng
        for _ in range(k):
            op = r.random()
            i = r.randrange(len(w))
            if op < 0.4:
                w[i] = r.choice(self.vocab)
            elif op < 0.7:
                w.insert(i, r.choice(self.vocab))
            elif len(w) > 5:
                del w[i]
        return " ".join(w)


def build(
    n: int, seed: int, record_bytes: int, giant: int, truth: bool = True
) -> tuple[list[str], list[tuple[int, int, float, int]]]:
    g = Gen(seed, record_bytes)
    r = g.rng
    texts: list[str] = []
    groups: list[list[int]] = []

    def add(t: str) -> int:
        texts.append(t)
        return len(texts) - 1

    planted_budget = int(n * 0.12)
    while len(texts) < planted_budget:
        kind = r.random()
        if kind < 0.35:  # edit pairs, J spread over ~0.4–1.0
            a = g.qa()
            k = r.choice([0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 14, 20])
            groups.append([add(a), add(g.edit(a, k))])
        elif kind < 0.45:  # option shuffle: same item, options permuted
            q, opts, expl = g.sentence(500), [g.sentence(80) for _ in range(4)], g.sentence(30)
            perm = opts[:]
            r.shuffle(perm)
            groups.append([add(g.render(q, opts, 0, expl)), add(g.render(q, perm, perm.index(opts[0]), expl))])
        elif kind < 0.55:  # shared template, new content (hard negative)
            opts = [g.sentence(80) for _ in range(4)]
            groups.append(
                [
                    add(g.render(g.sentence(500), opts, 1, g.sentence(30))),
                    add(g.render(g.sentence(500), opts, 1, g.sentence(30))),
                ]
            )
        elif kind < 0.65:  # numbers-only differences of a math item
            words = g.sentence(300)
            nums = [r.randint(2, 999) for _ in range(6)]
            other = [x + r.randint(1, 9) if r.random() < 0.5 else x for x in nums]
            tmpl = "Problem: {} {} apples and {} pears cost {} in total; {} {} {} what is the answer? " + words
            groups.append(
                [add(tmpl.format(words[:40], *nums, words[40:80])), add(tmpl.format(words[:40], *other, words[40:80]))]
            )
        elif kind < 0.75:  # same question, another answer
            q, opts, expl = g.sentence(r.choice([150, 400, 800])), [g.sentence(40) for _ in range(4)], g.sentence(30)
            groups.append([add(g.render(q, opts, 0, expl)), add(g.render(q, opts, 2, g.sentence(30)))])
        elif kind < 0.88:  # star
            a = g.qa()
            groups.append([add(a)] + [add(g.edit(a, r.choice([1, 2, 3, 4]))) for _ in range(r.randint(3, 8))])
        else:  # chain
            a = g.qa()
            chain = [add(a)]
            for _ in range(r.randint(3, 6)):
                a = g.edit(a, r.choice([2, 3, 4]))
                chain.append(add(a))
            groups.append(chain)
    giant_text = g.qa()
    giant_ids = [add(giant_text) for _ in range(min(giant, max(n - len(texts), 0)))]
    while len(texts) < n:
        add(g.qa())
    # Shuffle so related records are far apart, then remap ids.
    order = list(range(len(texts)))
    r.shuffle(order)
    new_id = {old: new for new, old in enumerate(order)}
    texts = [texts[i] for i in order]
    pairs: list[tuple[int, int, float, int]] = []
    for grp in groups:
        ids = [new_id[i] for i in grp]
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                lo, hi = sorted((ids[x], ids[y]))
                pairs.append((lo, hi, jaccard(texts[lo], texts[hi]) if truth else -1.0, len(ids)))
    if giant_ids:
        ids = sorted(new_id[i] for i in giant_ids)
        pairs.extend((ids[0], b, 1.0, len(ids)) for b in ids[1:])
    return texts, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--record-bytes", type=int, default=1000)
    ap.add_argument("--giant", type=int, default=10_000, help="size of the bucket of identical records")
    ap.add_argument("--seed", type=int, default=20260401)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/dedup/out/corpus.parquet"))
    ap.add_argument(
        "--chunk", type=int, default=200_000, help="records generated and written at a time (bounded memory)"
    )
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("id", pa.int64()), ("text", pa.large_string())])
    truth: list[tuple[int, int, float, int]] = []
    written, mb = 0, 0.0
    with pq.ParquetWriter(args.out, schema) as writer:
        # Chunks are independent corpora (own seed); only the first holds the giant bucket, and
        # ground truth is computed for the first chunk only when there are several.
        for k, start in enumerate(range(0, args.records, args.chunk)):
            n = min(args.chunk, args.records - start)
            texts, pairs = build(n, args.seed + k, args.record_bytes, args.giant if k == 0 else 0, truth=k == 0)
            writer.write_table(
                pa.table(
                    {"id": pa.array(range(start, start + n), pa.int64()), "text": pa.array(texts, pa.large_string())},
                    schema=schema,
                ),
                row_group_size=65_536,
            )
            truth.extend((a + start, b + start, j, g) for a, b, j, g in pairs if j >= 0)
            written += n
            mb += sum(len(t) for t in texts) / 1e6
    a, b, j, g = zip(*truth, strict=True) if truth else ((), (), (), ())
    cols = {
        "i": pa.array(a, pa.int64()),
        "j": pa.array(b, pa.int64()),
        "jaccard": pa.array(j, pa.float64()),
        "group_size": pa.array(g, pa.int32()),
    }
    pq.write_table(pa.table(cols), args.out.with_suffix(".truth.parquet"))
    print(f"wrote {written:,} records ({mb:.0f} MB) and {len(truth):,} ground-truth pairs to {args.out}")


if __name__ == "__main__":
    main()
