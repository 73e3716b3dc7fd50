"""Replica balance: how many requests each of N CPU vLLM replicas received (dealt by estimated
cost, stolen at the tail), on the tiny model, optionally with a busy process pinned to one
replica's core (a loaded replica). Prints served/stolen per replica, the min/max ratio, the wall
time and the load average.

    python benchmarks/engines/bench_replicas.py [--replicas 2] [--requests 160] [--load-core 0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path


def _spin(core: int) -> None:
    os.sched_setaffinity(0, {core})
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--load-core", type=int, default=None, help="pin a busy loop to this core")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    from tsqa.engines import Request, Sampling
    from tsqa.engines.base import stream
    from tsqa.engines.replicas import ReplicaEngine, plan_layout
    from tsqa.spec.models.project import VllmModel
    from tsqa.testing.tiny_model import build_tiny_model

    work = [
        Request(
            id=f"t{i % 7}/r{i}",
            messages=[{"role": "user", "content": f"question {i}"}],
            sampling=Sampling(n=args.samples, max_tokens=24, seed=i),
        )
        for i in range(args.requests)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        config = VllmModel(engine="vllm", model=str(model), max_model_len=512, enforce_eager=True, max_num_seqs=16)
        spinner = None
        if args.load_core is not None:
            spinner = mp.get_context("spawn").Process(target=_spin, args=(args.load_core,), daemon=True)
            spinner.start()
        try:
            with ReplicaEngine(config, plan_layout(args.replicas, gpus=[]), max_in_flight_per_replica=16) as engine:
                start = time.perf_counter()
                done = sum(1 for r in stream(engine, work) if r.ok)
                wall = time.perf_counter() - start
                served, stolen = list(engine.served), list(engine.stolen)
        finally:
            if spinner is not None:
                spinner.terminate()
                spinner.join()
    print(
        json.dumps(
            {
                "replicas": args.replicas,
                "requests": args.requests,
                "ok": done,
                "served": served,
                "stolen": stolen,
                "min_over_max": round(min(served) / max(served), 3),
                "wall_s": round(wall, 2),
                "load_core": args.load_core,
                "loadavg": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
