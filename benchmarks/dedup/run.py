"""Runs every engine in its own process on the same generated corpus, scores them against ground
truth and prints (or writes into BENCHMARKS.md) the tables.

    python -m benchmarks.dedup.run --records 100000 --write-md
    python -m benchmarks.dedup.run --records 100000 --scale 1000000,2000000 --write-md

Bounded on purpose (2 shared cores): peers run single-threaded at --records; the scale runs are
tsqa only.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.dedup.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "dedup" / "out"
SECTION = "## Near-duplicate detection, exact dedup, voting, contamination (native core)"


def corpus(records: int, giant: int) -> Path:
    path = OUT / f"corpus-{records}.parquet"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.dedup.generate",
                "--records",
                str(records),
                "--giant",
                str(giant),
                "--out",
                str(path),
            ],
            check=True,
            cwd=ROOT,
        )
    return path


def engine(name: str, path: Path, threads: int, timeout: int, reuse: bool = False, repeat: int = 1) -> dict[str, Any]:
    """Runs `name` `repeat` times (fresh process each) and keeps the fastest end to end: on a
    shared machine the slow runs measure other people's load."""
    out = OUT / f"{path.stem}.{name}.{threads}t.json"
    print(f"  {name} ({threads} thread{'s' * (threads > 1)}) …", flush=True)
    if not (reuse and out.exists()):
        best: dict[str, Any] | None = None
        for k in range(repeat):
            trial = out.with_suffix(f".try{k}.json")
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.dedup.engines",
                name,
                str(path),
                str(trial),
                "--threads",
                str(threads),
            ]
            subprocess.run(cmd, check=True, cwd=ROOT, timeout=timeout)
            res = json.loads(trial.read_text())
            if best is None or ("stages" in res and e2e(res) < e2e(best)):
                best = res
                out.write_text(trial.read_text())
                labels = trial.with_suffix(".labels.npy")
                if labels.exists():
                    labels.replace(out.with_suffix(".labels.npy"))
    res = json.loads(out.read_text())
    labels = out.with_suffix(".labels.npy")
    if labels.exists():
        res["accuracy"] = evaluate(path.with_suffix(".truth.parquet"), np.load(labels), 0.8)
    return res


def e2e(r: dict[str, Any]) -> float:
    s = r["stages"]
    return s["read"] + (s["dedup"] if "dedup" in s else sum(v for k, v in s.items() if k != "read"))


def cpu(r: dict[str, Any]) -> float:
    return sum(r["cpu"].values())


def fmt(x: float | None, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def main_table(results: list[tuple[str, int, dict[str, Any]]], mb: float, n: int) -> list[str]:
    lines = [
        "| engine | threads | read | tokenise | sketch / band keys | LSH | verify + cluster | end to end | CPU time | MB/s | memory beyond input | pair recall J≥0.8 | pair precision | doc precision | doc recall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, threads, r in results:
        s, a = r["stages"], r["accuracy"]
        if "dedup" in s:
            tok, sk, lsh, ver = "(native)", s["band_keys"], s["group"], s["verify"] + s["cluster"]
        else:
            tok, sk, lsh, ver = f"{s['tokenise']:.2f}", s["sketch"], s["lsh_index"] + s["query_verify"], s["cluster"]
        # tsqa: C-heap peak above the input (exact; RSS is blurred by the memory-mapped read);
        # peers: RSS peak above the input (their memory is Python objects).
        beyond = (r["heap_beyond_input"] if "heap_beyond_input" in r else r["peak_rss"] - r["input_rss"]) / n
        lines.append(
            f"| {name} | {threads} | {s['read']:.2f} s | {tok} | {sk:.2f} s | {lsh:.2f} s | {ver:.2f} s | {e2e(r):.2f} s | {cpu(r):.2f} s | {mb / e2e(r):.0f} | "
            f"{beyond:,.0f} B/rec | {fmt(a['pair_recall'])} | {fmt(a['pair_precision'])} | {fmt(a['doc_precision'])} | {fmt(a['doc_recall'])} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--giant", type=int, default=10_000)
    ap.add_argument("--engines", default="tsqa,tsqa-signature,rensa,datasketch")
    ap.add_argument("--scale", default="", help="comma-separated record counts for tsqa-only runs")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--write-md", action="store_true", help="replace the section in BENCHMARKS.md")
    ap.add_argument("--reuse", action="store_true", help="re-render from the results already in benchmarks/dedup/out")
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine; the fastest is kept (shared machine)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = corpus(args.records, args.giant)
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    mb = pc.sum(pc.binary_length(pq.read_table(path, columns=["text"]).column("text"))).as_py() / 1e6
    print(f"corpus: {args.records:,} records, {mb:.0f} MB")
    results: list[tuple[str, int, dict[str, Any]]] = []
    # One untimed run first: the first child after the corpus is (re)read pays for cold caches.
    subprocess.run(
        [sys.executable, "-m", "benchmarks.dedup.engines", "tsqa", str(path), str(OUT / "warmup.json")],
        check=True,
        cwd=ROOT,
    )
    for name in args.engines.split(","):
        for threads in (1, 2) if name.startswith("tsqa") else (1,):
            results.append((name, threads, engine(name, path, threads, args.timeout, args.reuse, args.repeat)))
    micro = engine("micro", path, 1, args.timeout, args.reuse)
    scale = []
    for n in [int(x) for x in args.scale.split(",") if x]:
        p = corpus(n, args.giant)
        smb = pc.sum(pc.binary_length(pq.read_table(p, columns=["text"]).column("text"))).as_py() / 1e6
        scale.append((n, smb, engine("tsqa", p, 2, args.timeout, args.reuse, args.repeat)))
    md = render(args, mb, results, micro, scale)
    print("\n".join(md))
    (OUT / "results.md").write_text("\n".join(md) + "\n")
    if args.write_md:
        bench = ROOT / "BENCHMARKS.md"
        text = bench.read_text()
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:start] + "\n".join(md) + "\n" + ("\n" + text[end:] if nxt >= 0 else "")
        bench.write_text(text)


NOTES = """
Reading the numbers:
- The machine is shared with two other engineers' builds, tests, CI and vLLM benchmarks (load
  average 3–16 on 2 cores during these runs), so wall times are inflated and vary run to run even
  as the fastest of several runs; the CPU-time columns count only this process's own work and are
  the per-core figures to compare with the targets. "2 threads do 1.00× the CPU work of 1" means
  no parallel overhead; the wall speed-up needs two free cores, which these runs rarely had (on an
  idle moment during development, band keys ran at 1.8–1.96× on 2 threads).
- Accuracy: tsqa verifies candidates by exact Jaccard, so nothing below the threshold is merged
  and the pairs it misses are LSH misses at the knee (18×7 detects 98.6% at J = 0.8). The peers
  (and `tsqa-signature`) accept on the 126/128-slot estimate, which lets ~20% of the 0.75–0.8
  pairs in and drops ~30% of the 0.8–0.85 pairs; their greedy loop also leaves the far ends of
  chains unmerged (lower doc recall).
- Memory beyond the input is the C-heap peak during `near_dedup`, sampled every 5 ms (band keys
  144 B/record, plus two bands' 16 B/record sort buffers and the star edges while grouping; a
  short peak can fall between samples); the input Arrow column is read zero-copy.
- 10M × 1 KB was not run (10 GB of text next to the other engineers' jobs); the last column
  extrapolates linearly from each scale run (every stage is linear, grouping sorts partitions of
  ~1k records). By CPU time, 4M records cost ~20 CPU-seconds, i.e. ~50 CPU-seconds for 10M: under
  90 s even on one free core. The limiting stage is text → band keys, then reading Parquet.
"""


def render(
    args: Any,
    mb: float,
    results: list[tuple[str, int, dict[str, Any]]],
    micro: dict[str, Any],
    scale: list[tuple[int, float, dict[str, Any]]],
) -> list[str]:
    n = args.records
    by = {(name, t): r for name, t, r in results}
    cpu_model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    md = [
        SECTION,
        "",
        (
            f"Reproduce: `pip install -e .[bench] && python -m benchmarks.dedup.run --records {n} --giant {args.giant}"
            + (f" --scale {args.scale}" if args.scale else "")
            + " --write-md`"
        ),
        "",
        (
            f"Machine: {cpu_model}, 2 cores, Python {platform.python_version()}; kernel `{results[0][2].get('stats', {}).get('kernel', '?')}`. "
            f"Corpus: {n:,} Q&A-like records ({mb:.0f} MB, ~1 KB each) from `benchmarks/dedup/generate.py` with planted "
            "near-duplicates of known exact Jaccard (edits, insertions, deletions, option shuffles), hard negatives "
            f"(shared template, numbers-only differences, same question with another answer), stars, chains and one bucket of "
            f"{args.giant:,} identical records. Word 5-grams, threshold 0.8, 18 bands × 7 rows for every engine "
            "(datasketch 128 permutations, rensa 126 because it needs a multiple of the bands, tsqa 128). Each engine runs in "
            f"its own process from the same Parquet file (fastest of {args.repeat} runs); peers get their bulk paths and their Python tokenisation is timed. "
            "`tsqa` verifies candidates by exact Jaccard (default), `tsqa-signature` by the signature estimate like the peers; "
            "the peers' query/verify loop is the usual greedy one (skip records already marked) because collecting all "
            "pairs of the bucket of identical records is quadratic."
        ),
        "",
        *main_table(results, mb, n),
        "",
    ]
    t1 = e2e(by[("tsqa", 1)])
    ratio = [
        "| speed ratio tsqa ÷ peer, end to end from Parquet | tsqa 1 thread (wall) | tsqa 2 threads (wall) | per CPU-second (tsqa 1 thread) |",
        "|---|---|---|---|",
    ]
    for peer in ("rensa", "datasketch"):
        if (peer, 1) in by:
            p = e2e(by[(peer, 1)])
            ratio.append(
                f"| vs {peer} | {p / t1:.1f}× | {p / e2e(by[('tsqa', 2)]):.1f}× | {cpu(by[(peer, 1)]) / cpu(by[('tsqa', 1)]):.1f}× |"
            )
    md += [*ratio, ""]
    curve_names = [f"{name} {t}t" for name, t, _ in results if t == 1]
    md += [
        "Detection curve (share of planted stand-alone pairs put in one cluster, by exact Jaccard):",
        "",
        "| J | pairs | " + " | ".join(curve_names) + " |",
        "|---|---|" + "---|" * len(curve_names),
    ]
    curves = [r["accuracy"]["curve"] for _, t, r in results if t == 1]
    for k, c in enumerate(curves[0]):
        md.append(
            f"| {c['lo']:.2f}–{c['hi']:.2f} | {c['pairs']} | "
            + " | ".join(fmt(cv[k]["detected"], 2) for cv in curves)
            + " |"
        )
    m = micro
    c = micro["cpu"]
    md += [
        "",
        "tsqa stages on their own (best of 3, separate process):",
        "",
        "| stage | 1 thread | 2 threads | per CPU-second | note |",
        "|---|---|---|---|---|",
        (
            f"| text → band keys, ~1 KB records | {m['mb'] / m['band_keys_1t_s']:.0f} MB/s | {m['mb'] / m['band_keys_2t_s']:.0f} MB/s "
            f"({m['band_keys_1t_s'] / m['band_keys_2t_s']:.2f}×) | {m['mb'] / c['band_keys_1t_s']:.0f} MB/s | "
            f"2 threads do {c['band_keys_2t_s'] / c['band_keys_1t_s']:.2f}× the CPU work of 1 (wall speed-up is bounded by free cores); "
            f"forced scalar kernel: {m['mb'] / m['band_keys_scalar_1t_s']:.0f} MB/s, identical keys |"
        ),
        (
            f"| text → band keys, {m['short_bytes'] / m['short_records']:.0f}-byte records | "
            f"{m['short_records'] / m['short_1t_s'] / 1e6:.2f} M rec/s | {m['short_records'] / m['short_2t_s'] / 1e6:.2f} M rec/s | "
            f"{m['short_records'] / c['short_1t_s'] / 1e6:.2f} M rec/s | |"
        ),
        f"| exact dedup (normalise + xxh3-128 + keep first) | {m['mb'] / m['exact_1t_s']:.0f} MB/s | | {m['mb'] / c['exact_1t_s']:.0f} MB/s | |",
        (
            f"| majority vote, 8 samples per item, final_answer | {m['vote_items'] / m['vote_1t_s'] / 1e3:.0f} k items/s | | "
            f"{m['vote_items'] / c['vote_1t_s'] / 1e3:.0f} k items/s | |"
        ),
        f"| contamination: build 13-gram index of {m['contam_eval_records']:,} texts | {m['contam_build_1t_s']:.2f} s | | | |",
        (
            f"| contamination: query {m['records']:,} records against it | {m['mb'] / m['contam_query_1t_s']:.0f} MB/s | | "
            f"{m['mb'] / c['contam_query_1t_s']:.0f} MB/s | |"
        ),
    ]
    if scale:
        md += [
            "",
            "Scale (tsqa only, 2 threads, end to end from Parquet; stage that limits it in bold):",
            "",
            "| records | MB | read | band keys | group | verify + cluster | end to end | CPU time | memory beyond input | extrapolated to 10M × 1 KB (wall) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for sn, smb, r in scale:
            s = r["stages"]
            parts = {
                "read": s["read"],
                "band keys": s["band_keys"],
                "group": s["group"],
                "verify + cluster": s["verify"] + s["cluster"],
            }
            worst = max(parts, key=lambda k: parts[k])
            cells = [f"**{v:.2f} s**" if k == worst else f"{v:.2f} s" for k, v in parts.items()]
            md.append(
                f"| {sn:,} | {smb:,.0f} | "
                + " | ".join(cells)
                + f" | {e2e(r):.2f} s | {cpu(r):.2f} s | {r['heap_beyond_input'] / sn:,.0f} B/rec | "
                f"{e2e(r) * 10_000_000 / sn:.0f} s |"
            )
    md += NOTES.rstrip().split("\n")
    return md


if __name__ == "__main__":
    main()
