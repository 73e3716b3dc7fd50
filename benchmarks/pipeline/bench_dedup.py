"""The dedup stage alone at pipeline scale: peak RSS and CPU time of `find_duplicates` (the
streamed dedup of `tsqa apply`) on the enriched rows the pipeline benchmark makes from N seeds
(per_seed 2, two enrichment variants: 2N questions, 4N rows in Parquet shards of 50,000), against
the N seeds, saving the dedup index. Each size runs in a fresh process, after the data is written
by another, so the peak is the stage's own; "before" is the process with its libraries loaded.

    python benchmarks/pipeline/bench_dedup.py --seeds 50000,500000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import words

SHARD = 50_000


def write_data(root: Path, seeds: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "enrich").mkdir(parents=True)
    (root / "seeds").mkdir()
    options_type = pa.list_(pa.string())
    for shard, start in enumerate(range(0, seeds, SHARD // 4)):
        ids = range(start, min(seeds, start + SHARD // 4))
        rows: dict[str, list[Any]] = {"question_id": [], "question": [], "options": [], "agreement": []}
        for i in ids:
            for k in range(2):
                question = f"Generated bench/{i} #{k}: {words(f'qbench/{i}.{k}', 10)}?"
                options = [f"{words(f'obench/{i}.{k}.{j}', 2)} {j}" for j in range(4)]
                agreement = 0.8 + 0.2 * (zlib.crc32(question.encode()) % 2)
                for _variant in ("reasoning", "knowledge"):
                    rows["question_id"].append(f"bench:{i}.0.{k}")
                    rows["question"].append(question)
                    rows["options"].append(options)
                    rows["agreement"].append(agreement)
        table = pa.table(rows, schema=pa.schema([("question_id", pa.string()), ("question", pa.string()),
                                                 ("options", options_type), ("agreement", pa.float64())]))  # fmt: skip
        pq.write_table(table, root / "enrich" / f"part-{shard:05d}.parquet")
        seed_rows = {
            "question": [f"Seed {i}: which {words(f's{i}', 8)}?" for i in ids],
            "options": [[words(f"c{i}.{k}", 2) for k in range(4)] for i in ids],
        }
        pq.write_table(pa.table(seed_rows), root / "seeds" / f"part-{shard:05d}.parquet")


def run_one(root: Path) -> dict[str, Any]:
    import numpy  # noqa: F401 - imported before the baseline is taken, as in `tsqa apply`
    import pyarrow.compute
    import pyarrow.dataset  # noqa: F401
    import pyarrow.parquet as pq

    from tsqa import _native  # noqa: F401
    from tsqa.spec.models import TaskSpec
    from tsqa.stages.dedup import find_duplicates

    spec = TaskSpec.model_validate(
        {"task": "bench", "seed": {"files": "x.parquet", "license": "cc0-1.0"}, "format": "multiple_choice"}
    )

    def shards(folder: Path) -> Any:
        return lambda: (pq.read_table(p) for p in sorted(folder.glob("part-*.parquet")))

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    verdicts = find_duplicates(
        {"bench": (spec, shards(root / "enrich"), shards(root / "seeds"))}, {}, save_dir=root / "index"
    )
    return {
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - start,
        "rss_before_mib": before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dropped": len(verdicts["bench"]),
        "index_bytes": sum(p.stat().st_size for p in (root / "index").iterdir()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="50000,500000")
    parser.add_argument("--write", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_data(Path(args.write), args.n)
        return
    if args.run:
        print(json.dumps(run_one(Path(args.run))))
        return
    print("| seeds | questions | rows | dedup CPU s | µs per candidate | peak RSS MiB (before) | dropped |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, __file__, "--write", tmp, "--n", str(n)], check=True)
            proc = subprocess.run([sys.executable, __file__, "--run", tmp], check=True, capture_output=True, text=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {n:,} | {2 * n:,} | {4 * n:,} | {r['cpu_s']:.1f} | {r['cpu_s'] / (2 * n) * 1e6:.1f} | "
            f"{r['peak_rss_mib']:,.0f} ({r['rss_before_mib']:,.0f}) | {r['dropped']:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
