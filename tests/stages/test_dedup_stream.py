"""The streamed dedup (band keys spilled to disk, shards read again) gives the same verdicts and
the same saved index bytes as the in-memory implementation it replaced, on a random corpus with
exact copies, near copies, seed copies, empty texts, variant rows split across shards, three
tasks (two sharing a corpus) and an earlier run's index."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tsqa.spec.models import TaskSpec
from tsqa.stages.dedup import find_duplicates, group_key, index_file_name, question_keys

WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "maple",
    "ember",
    "quartz",
    "willow",
    "harbor",
    "delta",
    "prism",
    "raven",
    "sable",
    "talc",
]


def spec(task: str, **dedup: object) -> TaskSpec:
    return TaskSpec.model_validate(
        {"task": task, "seed": {"files": "x.jsonl", "license": "mit"}, "format": "multiple_choice", "dedup": dedup}
    )


def corpus(rng: random.Random, n: int, pool: list[str]) -> list[str]:
    out: list[str] = []
    for _ in range(n):
        r = rng.random()
        if pool and r < 0.15:
            out.append(rng.choice(pool))  # an exact copy (of this task, another or a seed)
        elif pool and r < 0.35:
            words = rng.choice(pool).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)  # a near copy
            out.append(" ".join(words))
        elif r < 0.38:
            out.append("?!")  # no shingles
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(14)))
        pool.append(out[-1])
    return out


def enriched(task: str, texts: list[str], rng: random.Random) -> pa.Table:
    rows: dict[str, list[Any]] = {"question_id": [], "question": [], "options": [], "agreement": []}
    for i, text in enumerate(texts):
        agreement = rng.choice([None, 0.6, 0.8, 1.0])
        options = rng.choice([None, [], ["a b", "c d"]])
        for _variant in ("reasoning", "knowledge"):
            rows["question_id"].append(f"{task}:{i}")
            rows["question"].append(text)
            rows["options"].append(options)
            rows["agreement"].append(agreement)
    return pa.table(rows, schema=pa.schema([("question_id", pa.string()), ("question", pa.string()),
                                            ("options", pa.list_(pa.string())), ("agreement", pa.float64())]))  # fmt: skip


def shards(table: pa.Table, size: int) -> Any:
    # Odd shard sizes split the two variant rows of some questions across shards.
    return lambda: iter(table.slice(i, size) for i in range(0, table.num_rows, size))


def in_memory(
    tasks: dict[str, tuple[TaskSpec, pa.Table, pa.Table]], index_files: dict[str, list[Path]], save_dir: Path
) -> dict[str, dict[str, tuple[str, str]]]:
    """The implementation before streaming (b2c1e3f and earlier), kept as the reference."""
    from tsqa.curate.exact import exact_dedup
    from tsqa.curate.neardup import MinHashIndex, build_index, near_dedup

    def unique_questions(rows: pa.Table) -> pa.Table:
        ids = rows.column("question_id")
        first = pc.index_in(pc.unique(ids), value_set=ids).to_numpy()
        return rows.take(pa.array(np.sort(first)))

    tasks = {name: (s, unique_questions(rows), seeds) for name, (s, rows, seeds) in tasks.items()}
    out: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in tasks}
    groups: dict[Any, list[str]] = {}
    for name in sorted(tasks):
        key = group_key(tasks[name][0])
        if key is not None:
            groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        threshold, num_perm, ngram, shingle, with_seeds = key[:5]
        parts = [tasks[name][1] for name in names]
        texts = pa.chunked_array([question_keys(p) for p in parts], pa.string()).combine_chunks()
        owner = np.repeat(np.arange(len(names)), [p.num_rows for p in parts])
        qids = pa.chunked_array([p.column("question_id") for p in parts], pa.string()).to_pylist()
        scores_all = np.concatenate([pc.fill_null(p.column("agreement"), 0.0).to_numpy() for p in parts])
        dropped: dict[int, tuple[str, str]] = {}

        def uid(i: int, names: list[str] = names, owner: Any = owner, qids: list[str] = qids) -> str:
            return f"{names[owner[i]]}/{qids[i]}"

        first = np.asarray(exact_dedup(texts).first_index)
        for i in np.flatnonzero(first != np.arange(len(first))).tolist():
            dropped[i] = ("exact_duplicate", f"same text as {uid(int(first[i]))}")
        index = None
        if with_seeds:
            seeds = [question_keys(tasks[name][2]) for name in names if tasks[name][2].num_rows]
            if seeds:
                seed_texts = pa.chunked_array(seeds, pa.string()).combine_chunks()
                index = build_index(seed_texts, threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle)
        alive = np.flatnonzero(first == np.arange(len(first)))
        near = near_dedup(texts.take(pa.array(alive)), threshold=threshold, num_perm=num_perm, ngram=ngram,
                          shingle=shingle, scores=scores_all[alive].astype(np.float64), index=index)  # fmt: skip
        dup_of, seed_match = np.asarray(near.duplicate_of), np.asarray(near.index_match)
        for j in np.flatnonzero((dup_of >= 0) | (seed_match >= 0)).tolist():
            i = int(alive[j])
            if seed_match[j] >= 0:
                dropped[i] = ("duplicate_of_seed", f"near-duplicate of seed question #{seed_match[j]}")
            else:
                dropped[i] = ("near_duplicate", f"near-duplicate of {uid(int(alive[dup_of[j]]))}")
        params = {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "shingle": shingle}
        for path in sorted(
            {p for name in names if "index" in tasks[name][0].dedup.against for p in index_files.get(name, [])}
        ):
            earlier = MinHashIndex.load(path, **params)
            matches = np.asarray(near_dedup(texts, index=earlier, **params).index_match)
            for i in np.flatnonzero(matches >= 0).tolist():
                if i not in dropped:
                    dropped[i] = ("duplicate_of_index", f"near-duplicate of record #{matches[i]} of {path.name}")
        keep = np.ones(len(texts), dtype=bool)
        keep[list(dropped)] = False
        save_dir.mkdir(parents=True, exist_ok=True)
        build_index(texts.filter(pa.array(keep)), **params).save(save_dir / index_file_name(params))
        for i, verdict in dropped.items():
            out[names[owner[i]]][qids[i]] = verdict
    return out


def test_streamed_dedup_equals_the_in_memory_implementation(tmp_path: Path) -> None:
    from tsqa.curate.neardup import build_index

    rng = random.Random(10)
    pool: list[str] = []
    seed_texts = corpus(rng, 300, pool)
    earlier = tmp_path / "earlier.index"
    build_index(corpus(rng, 100, pool), ngram=5).save(earlier)
    seeds = pa.table({"question": seed_texts, "options": pa.array([None] * len(seed_texts), pa.list_(pa.string()))})
    specs = {
        "a": spec("a", against=["seeds", "tasks", "index"], index=["earlier.index"]),
        "b": spec("b"),
        "c": spec("c", against=["seeds"], ngram=3),
    }
    tables = {name: enriched(name, corpus(rng, 700, pool), rng) for name in specs}
    index_files = {"a": [earlier]}
    want = in_memory({n: (specs[n], tables[n], seeds) for n in specs}, index_files, tmp_path / "want")
    got = find_duplicates(
        {n: (specs[n], shards(tables[n], 333), shards(seeds, 101)) for n in specs}, index_files, tmp_path / "got"
    )
    reasons = {v[0] for verdicts in want.values() for v in verdicts.values()}
    assert reasons == {"exact_duplicate", "near_duplicate", "duplicate_of_seed", "duplicate_of_index"}
    assert got == want
    saved = sorted(p.name for p in (tmp_path / "want").iterdir())
    assert saved == sorted(p.name for p in (tmp_path / "got").iterdir()) and len(saved) == 2
    for name in saved:
        assert (tmp_path / "got" / name).read_bytes() == (tmp_path / "want" / name).read_bytes(), name
