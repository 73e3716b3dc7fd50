"""The run report alone (what `tsqa apply` writes after the stages) on a synthetic run directory of
one multiple-choice task: N seeds, 2N generated questions, 4N packaged rows (two enrichment
variants), vote agreement and some rejects, in Parquet shards of 50,000 rows. CPU time and peak
RSS of `write_report`, each size in a fresh process (the data written by another).

    python benchmarks/pipeline/bench_report.py --seeds 50000,500000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import WORDS

SHARD = 50_000
VOCAB = np.array(WORDS)  # the pipeline benchmark's vocabulary


def _texts(rng: np.random.Generator, n: int, words: int, prefix: str) -> list[str]:
    picks = VOCAB[rng.integers(len(VOCAB), size=(n, words))]
    return [f"{prefix} " + " ".join(row) for row in picks.tolist()]


def _manifest(root: Path, stage: str, rows: int, files: list[Path], rejects: dict[str, int]) -> None:
    from tsqa.store.manifest import Manifest, ShardInfo, write_manifest

    write_manifest(
        root / "tasks" / "bench" / stage / "fp",
        Manifest(
            task="bench",
            stage=stage,
            fingerprint="fp",
            plan_digest="d" * 64,
            rows_in=rows + sum(rejects.values()),
            rows_out=rows,
            shards=[ShardInfo(file=str(f.relative_to(root)), rows=SHARD, sha256="0" * 64) for f in files],
            rejections=rejects,
            completed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )


def write_run(root: Path, seeds: int) -> None:
    from tsqa.stages.schema import SCHEMAS, rejects_from

    rng = np.random.default_rng(0)
    stage = root / "tasks" / "bench"
    normalise, verify, dataset = stage / "normalise/fp/data", stage / "verify/fp/data", root / "datasets/bench"
    rejects = stage / "verify/fp/rejects"
    for folder in (normalise, verify, dataset, rejects):
        folder.mkdir(parents=True)
    files: dict[str, list[Path]] = {"normalise": [], "verify": []}
    for k, start in enumerate(range(0, seeds, SHARD)):
        n = min(SHARD, seeds - start)
        ids = [f"bench:{i}" for i in range(start, start + n)]
        options = [[f"option {j} of {i}" for j in range(4)] for i in range(start, start + n)]
        index = rng.integers(4, size=n).astype(np.int32)
        path = normalise / f"part-{k:05d}.parquet"
        pq.write_table(
            pa.table(
                {
                    "seed_id": ids,
                    "question": _texts(rng, n, 8, "Seed"),
                    "options": options,
                    "answer_text": [o[i] for o, i in zip(options, index.tolist(), strict=True)],
                    "answer_index": index,
                    "answer_aliases": pa.nulls(n, pa.list_(pa.string())),
                    "context": pa.nulls(n, pa.string()),
                    "raw": ["{}"] * n,
                },
                schema=SCHEMAS["normalise"],
            ),
            path,
        )
        files["normalise"].append(path)
    questions = 2 * seeds
    for k, start in enumerate(range(0, questions, SHARD)):
        n = min(SHARD, questions - start)
        qids = [f"bench:{i // 2}.{i % 2}" for i in range(start, start + n)]
        path = verify / f"part-{k:05d}.parquet"
        pq.write_table(pa.table({"question_id": qids, "agreement": rng.choice([0.6, 0.8, 1.0], size=n)}), path)
        files["verify"].append(path)
        pq.write_table(
            pa.Table.from_pydict(
                {
                    "id": [f"{q}/r" for q in qids[: n // 10]],
                    "reason": ["low_agreement"] * (n // 10),
                    "detail": ["2/5 votes"] * (n // 10),
                }
            ).cast(rejects_from([], [], []).schema),
            rejects / f"part-{k:05d}.parquet",
        )
    rows = 2 * questions
    for k, start in enumerate(range(0, rows, SHARD)):
        n = min(SHARD, rows - start)
        q = np.arange(start, start + n) // 2  # two variant rows per question, side by side
        index = rng.integers(4, size=n).astype(np.int32)
        pq.write_table(
            pa.table(
                {
                    "question_id": [f"bench:{i // 2}.{i % 2}" for i in q.tolist()],
                    "seed_id": [f"bench:{i // 2}" for i in q.tolist()],
                    "question": _texts(rng, n, 10, "Generated"),
                    "options": [[f"choice {j} of {i}" for j in range(4)] for i in q.tolist()],
                    "answer_index": index,
                    "answer_text": [f"choice {j} of {i}" for i, j in zip(q.tolist(), index.tolist(), strict=True)],
                    "agreement": np.full(n, 0.8),
                    "votes": np.full(n, 4),
                    "samples": np.full(n, 5),
                    "variant": ["reasoning", "knowledge"] * (n // 2),
                    "enrichment": _texts(rng, n, 30, "Because"),
                    "group": ["bench"] * n,
                    "format": ["multiple_choice"] * n,
                    "license": ["cc0-1.0"] * n,
                }
            ),
            dataset / f"part-{k:05d}.parquet",
        )
    _manifest(root, "normalise", seeds, files["normalise"], {})
    _manifest(root, "verify", questions, files["verify"], {"low_agreement": questions // 10})
    (root / "blend.json").write_text(json.dumps({"project": "bench", "tasks": []}))


def run_one(root: Path) -> dict[str, float]:
    from tsqa.report import write_report

    start = time.process_time()
    write_report(root)
    return {
        "cpu_s": time.process_time() - start,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="50000,500000")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    print("| seeds | packaged rows | report CPU s | CPU µs per candidate | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for seeds in (int(x) for x in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            write_run(Path(tmp), seeds)
            proc = subprocess.run([sys.executable, __file__, "--one", tmp], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {seeds:,} | {4 * seeds:,} | {r['cpu_s']:.1f} | {r['cpu_s'] / (2 * seeds) * 1e6:.1f} "
            f"| {r['peak_rss_mib']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
