"""The applied state of a run directory: per task, the stage fingerprints of the last successful
apply and the rates it measured. `tsqa plan` diffs against it; `tsqa apply` writes it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from tsqa.store.atomic import write_json_atomic

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
        return AppliedState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        raise StateError(f"{path}: unreadable applied state ({str(exc).splitlines()[0]})") from None


def save_state(run_dir: Path, state: AppliedState) -> None:
    """Atomic: a crash leaves the previous state, never a torn file."""
    write_json_atomic(run_dir / STATE_FILE, state.model_dump(mode="json"))
