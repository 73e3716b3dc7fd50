"""The response cache: group commits, damage quarantined and rebuilt, unusable disks named."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from fs_faults import fill, read_only, small_disk
from tsqa.store.response_cache import CacheError, ResponseCache


def value(i: int) -> dict[str, object]:
    return {"texts": [f"answer {i}"], "finish_reasons": ["stop"], "prompt_tokens": 3, "completion_tokens": 2}


def test_every_put_is_visible_and_committed_in_small_batches(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path, max_batch=4) as cache:
        for i in range(50):
            cache.put(f"k{i}", value(i))
            assert f"k{i}" in cache.get_many([f"k{i}"])  # handed over = readable, committed or not
        cache.flush()
        assert cache.commits >= 50 / 4  # never more than max_batch results per transaction
        assert len(cache) == 50
    # a new process (connection) sees all of them after close
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 50
    db.close()
    with ResponseCache(path) as again:
        assert again.get_many(["k7", "nope"]) == {"k7": value(7)}
        assert again.repairs == []


def test_put_is_committed_without_a_flush(tmp_path: Path) -> None:
    """A result does not wait for a batch to fill: another reader sees it within moments."""
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("only", value(1))
    reader = sqlite3.connect(path)
    done = threading.Event()
    for _ in range(200):
        if reader.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1:
            done.set()
            break
        threading.Event().wait(0.01)
    reader.close()
    cache.close()
    assert done.is_set()


def _filled(path: Path, n: int = 300) -> None:
    with ResponseCache(path) as cache:
        cache.put_many({f"k{i}": value(i) for i in range(n)})


@pytest.mark.parametrize("damage", ["truncated", "garbage", "half_header"])
def test_a_damaged_cache_is_moved_aside_and_rebuilt(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "cache" / "responses.sqlite"
    _filled(path)
    size = path.stat().st_size
    if damage == "truncated":
        with open(path, "r+b") as handle:
            handle.truncate(size // 3)
    elif damage == "garbage":
        path.write_bytes(b"definitely not sqlite " * 100)
    else:
        path.write_bytes(path.read_bytes()[:50])
    cache = ResponseCache(path)
    [message] = cache.repairs
    assert f"the response cache {path} was damaged" in message
    assert "moved it aside to responses.sqlite.damaged-" in message
    assert "model calls it held are made again" in message
    assert cache.get_many(["k1"]) == {}  # empty, and usable
    cache.put("new", value(0))
    cache.close()
    aside = [p for p in path.parent.iterdir() if ".damaged-" in p.name]
    assert aside and all(not p.name.endswith("-shm") for p in aside)
    with ResponseCache(path) as again:  # the rebuilt cache is healthy: no second repair
        assert again.repairs == [] and again.get_many(["new"]) == {"new": value(0)}


def test_damage_inside_the_pages_is_found_by_the_full_check_and_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    _filled(path, 2000)
    raw = bytearray(path.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    for p in range(2, len(raw) // page):  # scribble over every page but the first (schema)
        raw[p * page : p * page + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    with ResponseCache(path, full_check=True) as checked:
        assert len(checked.repairs) == 1 and "damaged" in checked.repairs[0]
    # the cheap open does not read every page; a query that hits the damage repairs then
    for p in path.parent.glob("responses.sqlite*"):
        p.unlink()
    _filled(path, 2000)
    path.write_bytes(bytes(raw[: len(raw)]))
    with ResponseCache(path) as cache:
        found = cache.get_many([f"k{i}" for i in range(2000)])
        assert found == {} and len(cache.repairs) == 1
        cache.put("after", value(1))
        cache.flush()
        assert cache.get_many(["after"]) == {"after": value(1)}


def test_a_read_only_cache_is_an_error_not_a_quarantine(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    path = folder / "responses.sqlite"
    _filled(path, 10)
    with read_only(folder), pytest.raises(CacheError, match=r"cannot use the response cache .*writable"):
        cache = ResponseCache(path)
        cache.put("x", value(1))
        cache.flush()
    assert not [p for p in folder.iterdir() if ".damaged-" in p.name]  # nothing was moved aside
    with ResponseCache(path) as cache:
        assert len(cache) >= 10


def test_a_full_disk_is_raised_on_the_next_put_or_flush(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 512) as disk:
        cache = ResponseCache(disk / "responses.sqlite")
        fill(disk)
        with pytest.raises(CacheError, match=r"cannot use the response cache .*(full|disk)"):
            for i in range(2000):
                cache.put(f"k{i}", {"texts": ["x" * 2000]})
            cache.flush()
        cache.close()  # the error was reported once; closing after it is quiet


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_batch=0"):
        ResponseCache(tmp_path / "c.sqlite", max_batch=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"texts": [], "error": "HTTP 503"},
        {"texts": [None], "finish_reasons": ["stop"]},
        {"texts": "answer", "finish_reasons": ["stop"]},
        {"finish_reasons": ["stop"]},
    ],
)
def test_a_failure_is_never_cached_nor_served(tmp_path: Path, bad: dict[str, object]) -> None:
    """Failures are not results: put refuses them, and one stored by anything else reads as a miss."""
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        with pytest.raises(ValueError, match="not a success"):
            cache.put("bad", bad)
        cache.put("good", value(1))
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO responses(key, value) VALUES (?, ?)", ("planted", json.dumps(bad)))
    db.close()
    with ResponseCache(path) as again:
        assert again.get_many(["bad", "planted", "good"]) == {"good": value(1)}
