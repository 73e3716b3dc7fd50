"""`tsqa plan` on N generated specs whose seeds are known from metadata only (goal: 700 specs in
< 2 s with `--json` on 2 cores): no dataset is read in full, templates compile once.

Each run is a fresh process; the report gives the median, min and max of its wall time and of its
CPU time (user + system, of the child process and the processes it forked), and the load average before and after: on a shared
machine wall time measures the neighbours as much as tsqa.

Each spec points at its own Parquet seed file of 10k-200k rows; the row count comes from the
Parquet footer, never from reading the data.

    python benchmarks/plan/bench_plan.py --specs 700 --repeat 3
    python benchmarks/plan/bench_plan.py --json --repeat 5 --baseline /path/to/main-checkout/python
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
FORMATS = {
    "multiple_choice": "fields: {question: '{{ question }}', choices: '{{ choices }}', answer: '{{ answer }}'}\n",
    "short_answer": "fields: {question: '{{ question }}', answer: '{{ answer }}'}\nverify: {extractor: number}\n",
}


def generate(folder: Path, count: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    shutil.copy(REPO / "tsqa.yaml", folder / "tsqa.yaml")
    (folder / "specs").mkdir()
    (folder / "data").mkdir()
    total_rows = 0
    for i in range(count):
        rows = rng.randint(10_000, 200_000)
        total_rows += rows
        # A file with `rows` rows written as one repeated row group: the footer carries the count.
        table = pa.table(
            {"question": ["What is 2 + 2?"] * 1000, "choices": [["3", "4", "5"]] * 1000, "answer": [1] * 1000}
        )
        with pq.ParquetWriter(folder / "data" / f"seed_{i:04d}.parquet", table.schema) as writer:
            for _ in range(rows // 1000):
                writer.write_table(table)
        fmt = rng.choice(list(FORMATS))
        (folder / "specs" / f"task_{i:04d}.yaml").write_text(
            f"task: task_{i:04d}\ngroup: {rng.choice(['knowledge', 'reasoning'])}\n"
            f"seed: {{files: ../data/seed_{i:04d}.parquet, license: cc0-1.0}}\nformat: {fmt}\n{FORMATS[fmt]}"
            f"generate: {{per_seed: {rng.randint(1, 4)}}}\nblend: {{weight: {rng.choice([0.5, 1.0, 2.0])}}}\n"
        )
    return total_rows


def _run(folder: Path, extra: list[str], pythonpath: str | None) -> tuple[float, float, str]:
    """One fresh `tsqa plan` process: (wall s, CPU s of the child, stdout)."""
    env = dict(os.environ)
    # Bytecode cached, as in an installed package (pip compiles it): this machine sets
    # PYTHONDONTWRITEBYTECODE, which would recompile every tsqa module (~0.3 s) on each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tsqa.cli", "plan", "specs", *extra], cwd=folder, capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"plan failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return wall, after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime, proc.stdout


def _probe() -> float:
    """Seconds of a fixed pure-Python loop: how fast this (shared, virtual) machine runs right
    now. Its speed drifts by 2x over minutes; compare plans measured at similar probe times."""
    start = time.perf_counter()
    sum(i * i for i in range(1_000_000))
    return time.perf_counter() - start


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", type=int, default=700)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="time `tsqa plan specs --json` (goal < 2 s)")
    parser.add_argument(
        "--baseline",
        metavar="PYTHONPATH",
        help="also time the tsqa found on this PYTHONPATH (another checkout's python/), runs interleaved "
        "on the same specs, and say whether the two print the same plan",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        help="pass `--jobs N` to this checkout's tsqa plan (not to the baseline, which may not know it); "
        "default: its own choice (one process per CPU from 96 specs)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="generate the specs here, or reuse those generated here by an earlier run with the same --specs "
        "(default: a temporary folder)",
    )
    args = parser.parse_args()
    extra = ["--json"] if args.json else []
    ours = [*extra, "--jobs", str(args.jobs)] if args.jobs else extra
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.workdir or Path(tmp)
        marker = folder / f".generated-{args.specs}"
        if marker.exists():
            rows = int(marker.read_text())
        else:
            folder.mkdir(parents=True, exist_ok=True)
            rows = generate(folder, args.specs)
            marker.write_text(str(rows))
        runs: dict[str, tuple[list[float], list[float]]] = {"this": ([], [])}
        if args.baseline:
            runs = {"baseline": ([], []), **runs}
        outputs: dict[str, str] = {}
        for name in runs:  # untimed: writes each checkout's bytecode cache
            baseline = name == "baseline"
            _run(folder, extra if baseline else ours, args.baseline if baseline else None)
        load_before = os.getloadavg()[0]
        probes: list[float] = []
        for _ in range(args.repeat):
            probes.append(_probe())
            for name, (times, cpus) in runs.items():
                baseline = name == "baseline"
                wall, cpu, outputs[name] = _run(
                    folder, extra if baseline else ours, args.baseline if baseline else None
                )
                times.append(wall)
                cpus.append(cpu)
        stdout = outputs["this"]
        summary = [line for line in stdout.splitlines() if line.startswith("Plan:")]
        if args.json:
            import json

            summary = [f"--json: {len(json.loads(stdout)['tasks'])} tasks"]
        for name, (times, cpus) in runs.items():
            print(
                f"{name}: tsqa plan{' --json' if args.json else ''} (fresh process) specs={args.specs} seed rows={rows:,} "
                f"runs={args.repeat} wall median={_stats(times)} CPU median={_stats(cpus)}"
            )
        print(
            f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}, host probe median "
            f"{statistics.median(probes) * 1000:.0f} ms :: {summary[0] if summary else stdout[-300:]}"
        )
        if args.baseline:
            print(f"same output as the baseline: {outputs['baseline'] == stdout}")


if __name__ == "__main__":
    main()
