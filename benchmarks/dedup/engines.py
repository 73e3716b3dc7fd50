"""One engine, one process: `python -m benchmarks.dedup.engines ENGINE CORPUS OUT.json [--threads N]`.

Each engine reads the corpus from Parquet and produces a cluster label (kept row) per record;
stages are timed separately and the peak RSS during the work (sampled every 5 ms above the RSS
after reading the input) is reported. Peers get their best bulk path, and their Python
tokenisation is timed because it is part of their real cost.

Engines:
- tsqa:            near_dedup on the Arrow column (verify=exact, the default)
- tsqa-signature:  near_dedup with verify=signature (like-for-like with the peers' estimate)
- datasketch:      MinHash.bulk + MinHashLSH(params=(18, 7)) + greedy query/verify (estimate ≥
                   threshold) in record order
- rensa:           RMinHash.from_token_sets (R-MinHash, the accurate path) + RMinHashLSH(18 bands)
                   + the same greedy query/verify
- micro:           tsqa stage throughputs (band keys at 1/2 threads and forced scalar, short
                   records, exact dedup, vote, contamination)
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

THRESHOLD = 0.8
BANDS, ROWS = 18, 7
PAGE = os.sysconf("SC_PAGE_SIZE")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (f, ctypes.c_size_t)
        for f in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallinfo2.restype = _MallInfo2
except (OSError, AttributeError):
    _libc = None


def heap() -> int:
    """Bytes in use in the C heap (glibc malloc: where Rust and numpy allocate; pyarrow buffers
    live in its own pool and Python objects in pymalloc arenas, so the input is not counted)."""
    if _libc is None:
        return 0
    m = _libc.mallinfo2()
    return int(m.uordblks + m.hblkhd)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRss:
    """Samples RSS in a thread; `.peak` is the maximum seen while inside the block."""

    def __enter__(self) -> Self:
        self.peak = rss()
        self.heap_base = heap()
        self.heap_peak = self.heap_base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())
            self.heap_peak = max(self.heap_peak, heap())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss())


CPU: dict[str, float] = {}
"""Process CPU seconds (all threads) per stage: on a shared machine wall time also counts the
time other people's processes held the cores; CPU time does not."""


def timed(stages: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    stages[name] = time.perf_counter() - t
    CPU[name] = time.process_time() - c
    return out


def greedy_labels(n: int, candidates: Callable[[int], Any], similar: Callable[[int, int], bool]) -> np.ndarray:
    """The usual peer idiom: walk records in order, skip those already marked, and mark every
    verified candidate of a kept record as its duplicate. Linear in the kept records' candidates
    (collecting all pairs is quadratic in a bucket of identical records)."""
    label = np.arange(n, dtype=np.int64)
    dup = np.zeros(n, dtype=bool)
    for i in range(n):
        if dup[i]:
            continue
        for j in candidates(i):
            if j > i and not dup[j] and similar(i, j):
                dup[j] = True
                label[j] = i
    return label


def run_tsqa(corpus: Path, threads: int, verify: str) -> dict[str, Any]:
    from tsqa.curate import near_dedup

    stages: dict[str, float] = {}
    col = timed(stages, "read", lambda: pq.read_table(corpus, columns=["text"], memory_map=True).column("text"))
    base = rss()
    with PeakRss() as mem:
        r = timed(stages, "dedup", lambda: near_dedup(col, threshold=THRESHOLD, threads=threads, verify=verify))  # type: ignore[arg-type]
    for k in ("band_keys_s", "group_s", "verify_s", "cluster_s"):
        stages[k.removesuffix("_s")] = r.stats[k]
    return {
        "stages": stages,
        "labels": r.cluster_id,
        "peak_rss": mem.peak,
        "input_rss": base,
        "heap_beyond_input": mem.heap_peak - mem.heap_base,
        "stats": dict(r.stats),
    }


def run_datasketch(corpus: Path) -> dict[str, Any]:
    from benchmarks.dedup.shingles import shingles
    from datasketch import MinHash, MinHashLSH

    stages: dict[str, float] = {}
    texts = timed(
        stages, "read", lambda: pq.read_table(corpus, columns=["text"], memory_map=True).column("text").to_pylist()
    )
    base = rss()
    with PeakRss() as mem:
        sets = timed(stages, "tokenise", lambda: [[s.encode() for s in shingles(t)] for t in texts])
        mhs = timed(stages, "sketch", lambda: MinHash.bulk(sets, num_perm=BANDS * ROWS + 2, seed=1))

        def index() -> MinHashLSH:
            lsh = MinHashLSH(threshold=THRESHOLD, num_perm=BANDS * ROWS + 2, params=(BANDS, ROWS))
            with lsh.insertion_session() as s:
                for i, m in enumerate(mhs):
                    s.insert(i, m, check_duplication=False)
            return lsh

        lsh = timed(stages, "lsh_index", index)

        labels = timed(
            stages,
            "query_verify",
            lambda: greedy_labels(
                len(texts), lambda i: lsh.query(mhs[i]), lambda i, j: mhs[i].jaccard(mhs[j]) >= THRESHOLD
            ),
        )
        stages["cluster"] = 0.0
    return {"stages": stages, "labels": labels, "peak_rss": mem.peak, "input_rss": base}


def run_rensa(corpus: Path) -> dict[str, Any]:
    from benchmarks.dedup.shingles import shingles
    from rensa import RMinHash, RMinHashLSH

    num_perm = BANDS * ROWS  # rensa needs num_perm divisible by num_bands
    stages: dict[str, float] = {}
    texts = timed(
        stages, "read", lambda: pq.read_table(corpus, columns=["text"], memory_map=True).column("text").to_pylist()
    )
    base = rss()
    with PeakRss() as mem:
        sets = timed(stages, "tokenise", lambda: [shingles(t) for t in texts])
        hs = timed(stages, "sketch", lambda: RMinHash.from_token_sets(sets, num_perm, 1))

        def index() -> RMinHashLSH:
            lsh = RMinHashLSH(THRESHOLD, num_perm, BANDS)
            lsh.insert_pairs(list(enumerate(hs)))
            return lsh

        lsh = timed(stages, "lsh_index", index)

        labels = timed(
            stages,
            "query_verify",
            lambda: greedy_labels(
                len(texts), lambda i: lsh.query(hs[i]), lambda i, j: hs[i].jaccard(hs[j]) >= THRESHOLD
            ),
        )
        stages["cluster"] = 0.0
    return {"stages": stages, "labels": labels, "peak_rss": mem.peak, "input_rss": base}


def run_micro(corpus: Path) -> dict[str, Any]:
    """Stage throughputs of tsqa (each best of 3)."""
    from tsqa.curate import (
        band_keys,
        build_contamination_index,
        contamination,
        exact_dedup,
        majority_vote,
    )

    col = pq.read_table(corpus, columns=["text"], memory_map=True).column("text")
    mb = (
        sum(len(s) for s in col.chunks[0].to_pylist()[:1])
        and pa.compute.sum(pa.compute.binary_length(col)).as_py() / 1e6
    )
    out: dict[str, Any] = {"mb": mb, "records": len(col)}

    def best(fn: Callable[[], Any]) -> float:
        """Min wall time of 3 runs; that run's CPU seconds go to `cpu[<caller's key>]`."""
        runs = []
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()
            fn()
            runs.append((time.perf_counter() - t, time.process_time() - c))
        wall, cpu = min(runs)
        cpu_of.append(cpu)
        return wall

    cpu_of: list[float] = []
    for threads in (1, 2):
        out[f"band_keys_{threads}t_s"] = best(partial(band_keys, col, threads=threads))
    out["band_keys_scalar_1t_s"] = best(lambda: band_keys(col, threads=1, kernel="scalar"))
    short = pa.array([t[:80] for t in col.slice(0, 200_000).to_pylist()] * 3, pa.large_string())
    out["short_records"] = len(short)
    out["short_bytes"] = pa.compute.sum(pa.compute.binary_length(short)).as_py()
    for threads in (1, 2):
        out[f"short_{threads}t_s"] = best(partial(band_keys, short, threads=threads))
    out["exact_1t_s"] = best(lambda: exact_dedup(col, threads=1))
    rng = np.random.default_rng(0)
    samples = [[f"so the final answer is {int(x)}" for x in rng.integers(0, 4, 8)] for _ in range(200_000)]
    arr = pa.array(samples, pa.list_(pa.string()))
    out["vote_items"] = len(samples)
    out["vote_1t_s"] = best(lambda: majority_vote(arr, mode="final_answer", threads=1))
    evals = col.slice(0, 20_000)
    t = time.perf_counter()
    idx = build_contamination_index(evals, threads=1)
    out["contam_build_1t_s"] = time.perf_counter() - t
    out["contam_eval_records"] = len(evals)
    out["contam_query_1t_s"] = best(lambda: contamination(col, idx, threads=1))
    keys = [k for k in out if k.endswith("_s") and k != "contam_build_1t_s"]
    out["cpu"] = dict(zip(keys, cpu_of, strict=True))
    return out


def main() -> None:
    engine, corpus, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    t = time.perf_counter()
    if engine == "tsqa":
        res = run_tsqa(corpus, threads, "exact")
    elif engine == "tsqa-signature":
        res = run_tsqa(corpus, threads, "signature")
    elif engine == "datasketch":
        res = run_datasketch(corpus)
    elif engine == "rensa":
        res = run_rensa(corpus)
    elif engine == "micro":
        res = run_micro(corpus)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    res["wall_s"] = time.perf_counter() - t
    res.setdefault("cpu", CPU)
    res["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    labels = res.pop("labels", None)
    if labels is not None:
        np.save(out_path.with_suffix(".labels.npy"), np.asarray(labels, dtype=np.int64))
    out_path.write_text(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
