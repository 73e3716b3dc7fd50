"""CPU on the critical path of a parallel `tsqa plan`: what its wall time would be on an idle
machine, measured on a busy one (where wall time measures the neighbours).

Runs the plan in this process (the `tsqa plan` verb's code path: plan_paths, then the JSON dump)
and times, with CPU clocks, the imports, the parent's serial work, and each lock step in the parent
and in every child (inside the chunk's generator). The critical path is imports + serial work +
the slowest process of each step + the dump; add ~0.15 s of interpreter start for a fresh
`tsqa plan`. It omits what a loaded machine hides anyway: fork and pickling time outside the
generators, and waiting for a core.

    cd <folder with tsqa.yaml and specs/>
    python benchmarks/plan/critical_path.py specs --jobs 2
"""

from __future__ import annotations

import time

START = time.process_time()

import argparse
import gc
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from tsqa import forked
from tsqa.compile import planner
from tsqa.seeds.guard_memo import remembering

IMPORTS = time.process_time() - START


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int)
    args = parser.parse_args()
    gc.set_threshold(20_000, 20, 20)  # as the plan verb does
    real_chunk, real_send = planner._chunk, forked.LockStep.send
    steps: list[tuple[float, list[float]]] = []

    def timed_chunk(*a: Any) -> Generator[Any, Any, None]:
        inner = real_chunk(*a)
        clock = time.process_time()
        value = next(inner)
        while True:
            sent = yield (value, time.process_time() - clock)
            clock = time.process_time()
            try:
                value = inner.send(sent)
            except StopIteration:
                return

    def timed_send(self: forked.LockStep, value: Any) -> list[Any]:
        clock = time.process_time()
        out = real_send(self, value)
        steps.append((time.process_time() - clock, [cpu for _, cpu in out]))
        return [v for v, _ in out]

    planner._chunk = timed_chunk  # type: ignore[assignment]
    forked.LockStep.send = timed_send  # type: ignore[method-assign]
    clock = time.process_time()
    with remembering():
        planned = planner.plan_paths(args.paths, jobs=args.jobs)
    total = time.process_time() - clock
    assert planned.plan is not None, "lint errors"
    clock = time.process_time()
    planned.plan.model_dump_json(indent=2)
    dump = time.process_time() - clock
    serial = total - sum(parent for parent, _ in steps)
    critical = IMPORTS + serial + sum(max([parent, *cpus[1:]]) for parent, cpus in steps) + dump
    names = ["lint", "samples", "tasks"]
    shown = " | ".join(
        f"{name}: this {parent:.2f}" + "".join(f", child {cpu:.2f}" for cpu in cpus[1:])
        for name, (parent, cpus) in zip(names, steps, strict=False)
    )
    print(
        f"processes {len(steps[0][1])}: imports {IMPORTS:.2f} s, serial {serial:.2f} s, {shown}, "
        f"dump {dump:.2f} s => critical path {critical:.2f} s CPU (+ ~0.15 s interpreter start)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
