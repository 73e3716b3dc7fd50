"""Make N model calls through a concurrent fake engine into the response cache, skipping what the
cache already holds; test_cache_kill.py SIGKILLs it mid-way, again and again.

    python cache_kill_runner.py CACHE LOG N CONCURRENCY

LOG gets "start KEY" when a call starts and "done KEY" the moment its answer exists (before it is
handed to the cache), written with O_APPEND so a kill never loses or tears a line.
"""

from __future__ import annotations

import os
import random
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from tsqa.store.response_cache import ResponseCache


def main() -> None:
    cache_path, log_path, n, concurrency = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def call(key: str) -> str:
        os.write(log, f"start {key}\n".encode())
        time.sleep(random.uniform(0.002, 0.01))  # the model at work
        os.write(log, f"done {key}\n".encode())
        return f"answer to {key}"

    cache = ResponseCache(cache_path)
    keys = [f"k{i:04d}" for i in range(n)]
    cached = cache.get_many(keys)
    todo = iter(k for k in keys if k not in cached)
    with ThreadPoolExecutor(concurrency) as pool:
        running: dict[Future[str], str] = {}
        while True:
            while len(running) < concurrency and (key := next(todo, None)) is not None:
                running[pool.submit(call, key)] = key
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                cache.put(running.pop(future), {"texts": [future.result()]})
    cache.close()
    print("complete", len(ResponseCache(cache_path)))


if __name__ == "__main__":
    main()
