"""The writability pre-check: each way a place can be unusable gets one clear sentence."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from fs_faults import fill, no_permission, read_only, small_disk
from tsqa.store.writable import Need, NotWritable, check, problem


def test_usable_places_pass_and_leave_nothing_behind(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "r1"
    (tmp_path / "seeds").mkdir()
    check(
        [
            Need(run, "run directory"),
            Need(run / "cache", "response cache"),
            Need(tmp_path / "seeds", "seed store", write=False),
        ]
    )
    assert run.is_dir() and (run / "cache").is_dir()  # created, as apply would
    assert list(run.iterdir()) == [run / "cache"] and not list((run / "cache").iterdir())


def test_read_only_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with read_only(run):
        message = problem(Need(run, "run directory"))
    assert message is not None
    assert message.startswith(f"cannot write the run directory {run}: ")
    assert "read-only" in message or "permission denied" in message


def test_missing_folder_under_a_read_only_parent(tmp_path: Path) -> None:
    with read_only(tmp_path):
        message = problem(Need(tmp_path / "runs" / "r1", "run directory"))
    assert message is not None and message.startswith(f"cannot write the run directory {tmp_path}/runs/r1: ")


def test_permission(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with no_permission(run):
        message = problem(Need(run, "response cache"))
    assert message is not None
    assert message.startswith(f"cannot write the response cache {run}: ")
    assert "permission denied" in message or "not permitted" in message


def test_an_existing_file_apply_updates_is_checked_too(tmp_path: Path) -> None:
    db = tmp_path / "responses.sqlite"
    db.write_bytes(b"")
    with no_permission(db):
        message = problem(Need(tmp_path, "response cache", files=("responses.sqlite",)))
    assert message is not None and str(db) in message


def test_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("oops")
    assert problem(Need(tmp_path / "runs", "run directory")) == (
        f"cannot write the run directory {tmp_path}/runs: it is a file, not a folder"
    )
    message = problem(Need(tmp_path / "runs" / "r1", "run directory"))
    assert message is not None and "a file is in the way of the folder" in message


def test_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 256) as disk:
        fill(disk)
        message = problem(Need(disk / "run", "run directory", min_free_bytes=0))
        (disk / "filler").unlink()
        low = problem(Need(disk, "run directory"))  # 256 KiB free < 64 MiB
    assert message is not None and "the disk is full" in message
    assert low is not None and low.startswith(f"not enough free space for the run directory {disk}: ")
    assert "MiB free, at least 64 MiB needed" in low


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_seed_store(tmp_path: Path) -> None:
    store = tmp_path / "seeds"
    store.mkdir()
    store.chmod(0)
    try:
        assert (
            problem(Need(store, "seed store", write=False)) == f"cannot read the seed store {store}: permission denied"
        )
    finally:
        store.chmod(0o755)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    (tmp_path / "b").write_text("")
    with pytest.raises(NotWritable) as failed:
        check(
            [
                Need(tmp_path / "a", "run directory"),
                Need(tmp_path / "ok", "seed store"),
                Need(tmp_path / "b", "response cache"),
            ]
        )
    assert [line.split(":")[0] for line in failed.value.problems] == [
        f"cannot write the run directory {tmp_path}/a",
        f"cannot write the response cache {tmp_path}/b",
    ]
