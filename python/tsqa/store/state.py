"""The applied state of a run directory: per task, the stage fingerprints of the last successful
apply and the rates it measured. `tsqa plan` diffs against it; `tsqa apply` writes it.

A damaged state file (truncated, not JSON, not this schema) never dead-ends a run: `tsqa apply`
moves it aside (`repair_state`) and writes a new one when it finishes (finished stage folders are
still reused: they are keyed by fingerprint, not by the state). Until then `load_state`, which
`tsqa plan` uses, refuses it with a message that says so."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from tsqa.store.atomic import write_json_atomic
from tsqa.store.quarantine import move_aside

STATE_FILE = "state.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskState(_Model):
    stages: dict[str, str]
    """Stage name → fingerprint of the completed stage."""
    rates: dict[str, float] = {}
    """Measured keep rates per filtering stage (parse, verify, dedup, decontaminate)."""
    output_ratio: dict[str, float] = {}
    """Measured generated tokens ÷ max_tokens per model stage."""
    applied_at: str | None = None


class AppliedState(_Model):
    version: int = 1
    tasks: dict[str, TaskState] = {}


class StateError(Exception):
    pass


def load_state(run_dir: Path) -> AppliedState:
    path = run_dir / STATE_FILE
    if not path.exists():
        return AppliedState()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StateError(f"{path}: cannot read the applied state ({exc.strerror or exc})") from None
    problem = _damage(data)
    if problem is not None:
        raise StateError(f"{path}: unreadable applied state ({problem}); `tsqa apply` moves it aside and rebuilds it")
    return AppliedState.model_validate_json(data)


def repair_state(run_dir: Path) -> str | None:
    """Move a damaged state file aside (the next save rebuilds it); a message saying so, or None."""
    path = run_dir / STATE_FILE
    try:
        problem = _damage(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"{path}: cannot read the applied state ({exc.strerror or exc})") from None
    if problem is None:
        return None
    try:
        aside = move_aside(path)
    except OSError as exc:
        raise StateError(f"{path}: damaged applied state ({problem}) that cannot be moved aside: {exc}") from None
    return (
        f"the applied state {path} was damaged ({problem}); moved it aside to {aside.name}: this apply "
        "rebuilds it (finished stages are kept)"
    )


def _damage(data: bytes) -> str | None:
    try:
        AppliedState.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{first['msg']}{f' at {where}' if where else ''}"
    except ValueError as exc:
        return str(exc).splitlines()[0]
    return None


def save_state(run_dir: Path, state: AppliedState) -> None:
    """Atomic: a crash leaves the previous state, never a torn file."""
    write_json_atomic(run_dir / STATE_FILE, state.model_dump(mode="json"))
