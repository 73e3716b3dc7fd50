"""The response cache: a model's answer to a rendered request, keyed on everything that determines
it (model identity and revision, the rendered messages, sampling, seed, output schema) and on
nothing that is parsed afterwards. Changing a parser or a verifier therefore re-runs nothing on the
GPU, and a killed apply never repeats a finished model call.

SQLite in WAL mode: each completed batch commits atomically, readers never see a half-written
entry, and it survives SIGKILL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tsqa.compile.fingerprint import canonical_json, sha256_text


def request_key(
    model: dict[str, Any], messages: list[dict[str, str]], sampling: dict[str, Any], schema: dict[str, Any] | None
) -> str:
    return sha256_text(canonical_json({"model": model, "messages": messages, "sampling": sampling, "schema": schema}))


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
        return found

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        if not items:
            return
        with self._db:  # one transaction: all of the batch or none of it
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()],
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()
