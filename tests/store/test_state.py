"""A damaged applied state is refused with a message, moved aside by apply and rebuilt."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from fs_faults import read_only
from tsqa.store.state import STATE_FILE, AppliedState, StateError, TaskState, load_state, repair_state, save_state


def _saved(run_dir: Path) -> bytes:
    save_state(run_dir, AppliedState(tasks={"t": TaskState(stages={"seeds": "abc"}, rates={"parse": 0.5})}))
    return (run_dir / STATE_FILE).read_bytes()


DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "binary": lambda raw: b"\x00\xff" * 20,
    "wrong_schema": lambda raw: b'{"version": 1, "tasks": {"t": {"stages": 3}}}',
    "not_an_object": lambda raw: b"[1, 2]",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_state_is_quarantined_and_rebuilt(tmp_path: Path, damage: str) -> None:
    raw = _saved(tmp_path)
    path = tmp_path / STATE_FILE
    path.write_bytes(DAMAGE[damage](raw))
    with pytest.raises(StateError, match=rf"{path}: unreadable applied state \(.+\); `tsqa apply` moves it aside"):
        load_state(tmp_path)
    message = repair_state(tmp_path)
    assert message is not None
    assert message.startswith(f"the applied state {path} was damaged (")
    assert "moved it aside to state.json.damaged-" in message and "this apply rebuilds it" in message
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.damaged-")]
    assert aside.read_bytes() == DAMAGE[damage](raw)  # kept as it was, for inspection
    assert load_state(tmp_path) == AppliedState()
    assert repair_state(tmp_path) is None  # nothing left to repair
    _saved(tmp_path)
    assert load_state(tmp_path).tasks["t"].rates == {"parse": 0.5}


def test_a_healthy_or_missing_state_is_left_alone(tmp_path: Path) -> None:
    assert repair_state(tmp_path) is None
    raw = _saved(tmp_path)
    assert repair_state(tmp_path) is None
    assert (tmp_path / STATE_FILE).read_bytes() == raw


def test_a_damaged_state_in_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_bytes(b"{")
    with read_only(tmp_path), pytest.raises(StateError, match=r"damaged applied state .* cannot be moved aside"):
        repair_state(tmp_path)
