"""Response cache write cost: group commit (tsqa, one result handed over at a time, at most 8
waiting) against one transaction per result and the old 64-result batches.

    python benchmarks/store/bench_cache.py [N]

Prints µs per finished call for each; the cost is per model call, so compare it with the calls'
own latency (milliseconds to seconds).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from tsqa.store.response_cache import ResponseCache

VALUE = {"texts": ["x" * 1500], "finish_reasons": ["stop"], "prompt_tokens": 300, "completion_tokens": 400}


def group_commit(folder: Path, n: int) -> float:
    cache = ResponseCache(folder / "group.sqlite")
    start = time.perf_counter()
    for i in range(n):
        cache.put(f"k{i}", VALUE)
    cache.flush()
    elapsed = time.perf_counter() - start
    cache.close()
    return elapsed


def batches(folder: Path, n: int, size: int) -> float:
    db = sqlite3.connect(folder / f"batch{size}.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    start = time.perf_counter()
    for first in range(0, n, size):
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO responses VALUES (?, ?)",
            [(f"k{i}", json.dumps(VALUE)) for i in range(first, min(n, first + size))],
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = {
            "group commit (tsqa)": group_commit(folder, n),
            "one transaction per result": batches(folder, n, 1),
            "64 per transaction (before)": batches(folder, n, 64),
        }
    for name, seconds in rows.items():
        print(f"{name:30} {seconds / n * 1e6:8.1f} µs per call")


if __name__ == "__main__":
    main()
