"""The response cache: a model's answer to a rendered request, keyed on everything that determines
it (model identity and revision, the rendered messages, sampling, seed, output schema) and on
nothing that is parsed afterwards. Changing a parser or a verifier therefore re-runs nothing on the
GPU, and a killed apply does not repeat the model calls that had finished.

SQLite in WAL mode. `put` hands a finished call to a writer thread that commits as soon as it is
free (group commit: whatever arrived during the previous commit goes in the next transaction, at
most `max_batch` results wait at once). A result is therefore durable within about one commit
(well under a millisecond) of being handed over, and a SIGKILL loses only the calls in flight plus
those few results; `synchronous=NORMAL` keeps that true for a killed process (not a power cut).

A cache file that is not a database, is truncated or reports corruption is moved aside
(`responses.sqlite.damaged-<time>`) and an empty cache takes its place: the calls it held are made
again, the run never dead-ends on it. `repairs` says what happened, for the run summary.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from json.encoder import encode_basestring as _string
from pathlib import Path
from typing import Any, Self

from tsqa.compile.fingerprint import canonical_json, sha256_text
from tsqa.engines.base import ChatMessage, Request, Result, Sampling
from tsqa.store.quarantine import move_aside

MAX_BATCH = 8
"""Results waiting for the writer at most; `put` blocks beyond it (backpressure)."""

_HEADER = b"SQLite format 3\x00"
_VALUE_JSON = json.JSONEncoder(ensure_ascii=False)
"""`json.dumps(value, ensure_ascii=False)`, without building an encoder per call."""
WAL_CHECKPOINT_PAGES = 4096
"""WAL pages between automatic checkpoints (SQLite's default is 1000): each checkpoint copies them
into the database; fewer, larger ones cost less per result (and the WAL is durable either way)."""


class CacheError(Exception):
    """The cache cannot be used at all (read-only, disk full, permission); the message says why."""


def request_key(
    model: dict[str, Any], messages: list[dict[str, str]], sampling: dict[str, Any], schema: dict[str, Any] | None
) -> str:
    return sha256_text(canonical_json({"model": model, "messages": messages, "sampling": sampling, "schema": schema}))


_SAMPLING_FIELDS = ("max_tokens", "n", "seed", "stop", "temperature", "top_k", "top_p")
if tuple(sorted(Sampling.model_fields)) != _SAMPLING_FIELDS:  # RequestKeys writes these by hand
    raise ImportError(f"RequestKeys must learn the Sampling fields {sorted(Sampling.model_fields)}")


class RequestKeys:
    """`request_key` of requests to one model, the same text built faster: JSON text is
    compositional, so the model identity is encoded once, a schema once per schema object, the
    sampling once per setting but its seed, and per request only the messages (canonical JSON: sorted
    keys, no spaces, non-ASCII kept). Schemas and messages are remembered by identity: a schema dict
    must not be changed in place while its RequestKeys lives (request builders share one per batch,
    never changed). tests/store/test_request_keys.py compares both."""

    def __init__(self, model: dict[str, Any]) -> None:
        self._head = '{"messages":'
        self._model = ',"model":' + canonical_json(model) + ',"sampling":'
        self._sampling: dict[tuple[Any, ...], tuple[str, str]] = {}
        self._schemas: dict[int, tuple[dict[str, Any], str]] = {}
        self._messages: dict[int, tuple[ChatMessage, str]] = {}

    def __call__(self, request: Request) -> str:
        messages = ",".join(map(self._message, request.messages))
        s = request.sampling
        setting = tuple(map(repr, (s.max_tokens, s.n, s.stop, s.temperature, s.top_k, s.top_p)))  # 1 ≠ True
        parts = self._sampling.get(setting)
        if parts is None:
            whole = canonical_json({**s.model_dump(mode="json"), "seed": None})
            before, after = whole.split('"seed":null', 1)  # a key: inside a string the quote is escaped
            parts = self._sampling[setting] = (before + '"seed":', after)
        seed = "null" if s.seed is None else str(int(s.seed))
        text = f'{self._head}[{messages}]{self._model}{parts[0]}{seed}{parts[1]},"schema":{self._schema(request.json_schema)}}}'
        return hashlib.sha256(text.encode()).hexdigest()

    def _message(self, message: ChatMessage) -> str:
        """A message's JSON, once per message object (frozen; request builders share the turns
        that repeat, such as a worked example's)."""
        known = self._messages.get(id(message))
        if known is not None and known[0] is message:
            return known[1]
        if len(self._messages) >= 4096:
            self._messages.clear()
        text = f'{{"content":{_string(message.content)},"role":{_string(message.role)}}}'
        self._messages[id(message)] = (message, text)  # held: its id cannot be reused meanwhile
        return text

    def _schema(self, schema: dict[str, Any] | None) -> str:
        if schema is None:
            return "null"
        known = self._schemas.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        if len(self._schemas) >= 256:
            self._schemas.clear()
        text = canonical_json(schema)
        self._schemas[id(schema)] = (schema, text)  # held: its id cannot be reused meanwhile
        return text


def cached_value(result: Result) -> dict[str, Any]:
    """What the cache keeps of a successful result: `result.model_dump(mode="json")` less its id and
    attempts (read back as `Result(id=…, **value)`), built directly."""
    return {
        "texts": list(result.texts),
        "finish_reasons": list(result.finish_reasons),
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "error": result.error,
    }


def _is_success(value: Any) -> bool:
    """A cacheable answer: no error and a list of string texts."""
    texts = value.get("texts") if isinstance(value, dict) else None
    return isinstance(texts, list | tuple) and all(isinstance(t, str) for t in texts) and value.get("error") is None


class ResponseCache:
    def __init__(self, path: Path, *, max_batch: int = MAX_BATCH, full_check: bool = False) -> None:
        """Open (or create) the cache; `full_check` also runs SQLite's `quick_check` over every page."""
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch!r} must be >= 1")
        self.path = path
        self.max_batch = max_batch
        self.repairs: list[str] = []
        self.commits = 0
        """Transactions committed by the writer (tests and benchmarks read it)."""
        self._db_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[str, str] = {}
        self._committing: dict[str, str] = {}
        self._failure: Exception | None = None
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create the cache folder {path.parent}: {exc.strerror or exc}") from None
        self._db = self._open(full_check)
        self._writer = threading.Thread(target=self._write_loop, name="tsqa-cache-writer", daemon=True)
        self._writer.start()

    # -- reading -----------------------------------------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        found: dict[str, dict[str, Any]] = {}
        with self._cond:  # handed over but not committed yet: already ours
            for key in keys:
                value = self._pending.get(key) or self._committing.get(key)
                if value is not None:
                    found[key] = json.loads(value)
        missing = [k for k in keys if k not in found]
        rows: list[tuple[str, str]] = []
        with self._db_lock:
            try:
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk)
            except sqlite3.DatabaseError as exc:
                self._recover(exc)  # damaged while running: start empty, the calls are made again
                return found
        for key, value in rows:
            hit = json.loads(value)
            if _is_success(hit):  # a failure stored by anything else is a miss: the call is made again
                found[key] = hit
        return found

    def __len__(self) -> int:
        self.flush()
        with self._db_lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    # -- writing -----------------------------------------------------------------------------------

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Hand one finished call to the writer; returns at once unless `max_batch` are waiting."""
        if not _is_success(value):
            # Failures are not results: a cached failure would be served to every later run.
            raise ValueError(f"refusing to cache a response that is not a success: {str(value)[:200]}")
        text = _VALUE_JSON.encode(value)
        with self._cond:
            self._raise_failure()
            while len(self._pending) >= self.max_batch and self._failure is None:
                self._cond.wait()
            self._raise_failure()
            self._pending[key] = text
            self._cond.notify_all()

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        for key, value in items.items():
            self.put(key, value)
        self.flush()

    def flush(self) -> None:
        """Return once everything handed over is committed (or raise the writer's error)."""
        with self._cond:
            while (self._pending or self._committing) and self._failure is None:
                self._cond.wait()
            self._raise_failure()

    def close(self) -> None:
        try:
            if self._writer.is_alive():
                self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._writer.join(timeout=30)
            with self._db_lock:
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                self._committing, self._pending = self._pending, {}
                self._cond.notify_all()  # put() may go on filling the next batch meanwhile
                batch = list(self._committing.items())
            try:
                self._commit(batch)
            except Exception as exc:  # noqa: BLE001 -- handed to the next put/flush, never lost in a thread
                with self._cond:
                    self._failure = exc
                    self._committing = {}
                    self._cond.notify_all()
                return
            with self._cond:
                self._committing = {}
                self.commits += 1
                self._cond.notify_all()

    def _commit(self, batch: list[tuple[str, str]]) -> None:
        with self._db_lock:
            for attempt in (1, 2):
                try:
                    with self._db:  # one transaction: all of the batch or none of it
                        self._db.execute("BEGIN")
                        self._db.executemany("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", batch)
                    return
                except sqlite3.DatabaseError as exc:
                    if attempt == 2 or not _is_damage(exc):
                        raise CacheError(self._io_message(exc)) from None
                    self._recover(exc)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure = self._failure
            if isinstance(failure, CacheError):
                raise CacheError(str(failure))
            raise CacheError(f"the response cache writer failed: {type(failure).__name__}: {failure}")

    def _open(self, full_check: bool) -> sqlite3.Connection:
        problem = _file_damage(self.path)
        if problem is not None:
            self._quarantine(problem)
        try:
            return self._connect(full_check)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise CacheError(self._io_message(exc)) from None
            self._quarantine(_reason(exc))
        try:
            return self._connect(full_check)
        except sqlite3.DatabaseError as exc:
            raise CacheError(self._io_message(exc)) from None

    def _connect(self, full_check: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("SELECT key FROM responses ORDER BY rowid DESC LIMIT 1").fetchall()
            if full_check:
                verdict = db.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(f"database disk image is malformed ({verdict})")
        except BaseException:
            db.close()
            raise
        return db

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """Damage found while running (caller holds the db lock): move it aside, reopen empty."""
        if not _is_damage(exc):
            raise CacheError(self._io_message(exc)) from None
        self._db.close()
        self._quarantine(_reason(exc))
        self._db = self._connect(False)

    def _quarantine(self, reason: str) -> None:
        try:
            aside = move_aside(self.path, ("-wal", "-journal"))
            self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        except OSError as exc:
            raise CacheError(
                f"the response cache {self.path} is damaged ({reason}) and cannot be moved aside: "
                f"{exc.strerror or exc}; remove it by hand (its model calls will be made again)"
            ) from None
        message = (
            f"the response cache {self.path} was damaged ({reason}); moved it aside to {aside.name} and "
            "started an empty cache (the model calls it held are made again)"
        )
        self.repairs.append(message)

    def _io_message(self, exc: sqlite3.DatabaseError) -> str:
        return f"cannot use the response cache {self.path}: {exc} (is the run directory writable, the disk full?)"


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_CORRUPT") or name == "SQLITE_NOTADB":
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _reason(exc: sqlite3.DatabaseError) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _file_damage(path: Path) -> str | None:
    """A cheap look at the file before SQLite opens it: the magic string and the size the header
    claims (a truncated file is shorter; in WAL mode the file only ever grows past it)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None  # SQLite treats an empty file as a new database
        with open(path, "rb") as handle:
            header = handle.read(100)
    except FileNotFoundError:
        return None
    except OSError:
        return None  # permissions and the like: SQLite reports them with a clear error
    if len(header) < 100 or not header.startswith(_HEADER):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]  # the in-header size is valid only then
    if header_valid and pages and size < pages * page_size:
        return f"truncated: {size} bytes, the header says {pages * page_size}"
    return None
