"""Lint N generated spec files and report the wall time (goal: 700 specs in < 2 s on 2 cores).

The specs are varied copies of the shipped examples (different task names, limits, weights,
sampling, prompts) so every rule runs on every file, as in a real project with hundreds of tasks.

    python benchmarks/lint/bench_lint.py --specs 700 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
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

REPO = Path(__file__).resolve().parents[2]


def generate(folder: Path, count: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    examples = sorted((REPO / "specs").glob("*.yaml"))
    shutil.copy(REPO / "tsqa.yaml", folder / "tsqa.yaml")
    specs = folder / "specs"
    specs.mkdir()
    for i in range(count):
        text = examples[i % len(examples)].read_text()
        lines = [ln for ln in text.splitlines() if not ln.startswith(("task:", "description:"))]
        name = f"{examples[i % len(examples)].stem}_{i:04d}"
        extra = [
            f"task: {name}",
            f"description: generated variant {i}",
        ]
        if "blend:" not in text:
            extra.append(f"blend: {{weight: {rng.choice([0.5, 1.0, 2.0])}}}")
        (specs / f"{name}.yaml").write_text("\n".join(extra + lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", type=int, default=700)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.specs)
        times, cpus = [], []
        load_before = os.getloadavg()[0]
        for _ in range(args.repeat):
            # A fresh process each time: the figure includes interpreter start and imports, as a
            # user running `tsqa lint specs/` in CI sees it. CPU time (user + system of the child)
            # too: on a shared machine wall time measures the neighbours as much as tsqa.
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "tsqa.cli", "lint", "specs"], cwd=folder, capture_output=True, text=True
            )
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
            if proc.returncode != 0:
                sys.exit(f"lint failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        summary = proc.stdout.strip().splitlines()[-1]
        print(
            f"tsqa lint (fresh process) specs={args.specs} runs={args.repeat} wall median={statistics.median(times):.2f}s "
            f"(min {min(times):.2f}, max {max(times):.2f}) CPU median={statistics.median(cpus):.2f}s "
            f"(min {min(cpus):.2f}, max {max(cpus):.2f}) load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
            f":: {summary}"
        )
        inproc = _time_in_process(folder)
        baseline = _time_naive_baseline(folder)
        print(
            f"in-process: tsqa lint {inproc:.3f}s (all rules) vs ruamel round-trip load + pydantic "
            f"validation only {baseline:.3f}s -> ratio {baseline / inproc:.1f}x"
        )


def _time_in_process(folder: Path) -> float:
    from tsqa.lint import lint_paths

    lint_paths([folder / "specs"], project_file=folder / "tsqa.yaml")  # warm imports and catalogue
    start = time.perf_counter()
    lint_paths([folder / "specs"], project_file=folder / "tsqa.yaml")
    return time.perf_counter() - start


def _time_naive_baseline(folder: Path) -> float:
    """What a straightforward loader does: ruamel's round-trip (position-keeping) parser and pydantic
    validation per file, with no defaults merging and no semantic rules."""
    from pydantic import ValidationError
    from ruamel.yaml import YAML

    from tsqa.spec.models import TaskSpec

    yaml = YAML(typ="rt")
    start = time.perf_counter()
    for path in sorted((folder / "specs").glob("*.yaml")):
        data = yaml.load(path.read_text())
        with contextlib.suppress(ValidationError):
            TaskSpec.model_validate(dict(data), strict=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
