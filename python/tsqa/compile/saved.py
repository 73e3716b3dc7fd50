"""Saved plans (`tsqa plan -o plan.json`) and the applied state they lead to.

A saved plan records the sha256 of every input; `tsqa apply plan.json` re-hashes them and refuses
the plan when any differs (terraform's stale-plan rule), then executes the plan as written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from tsqa import __version__
from tsqa.compile.digest import changed_inputs, input_digest
from tsqa.compile.fingerprint import sha256_text
from tsqa.compile.plan import PLAN_FORMAT_VERSION, Plan
from tsqa.store.state import AppliedState, TaskState


class PlanError(Exception):
    pass


def save_plan(plan: Plan, path: Path) -> None:
    from tsqa.store.atomic import write_text_atomic

    text = plan.model_dump_json(indent=2) + "\n"
    try:
        if path.exists() and not path.is_file():  # `-o /dev/stdout`: no file to replace
            path.write_text(text, encoding="utf-8")
        else:  # whole or not at all: a plan killed while saving leaves the previous file
            write_text_atomic(path, text)
    except OSError as exc:
        raise PlanError(f"{path}: cannot write the plan ({exc.strerror})") from None


def load_plan(path: Path) -> Plan:
    try:
        plan = Plan.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise PlanError(f"{path}: cannot read saved plan ({exc.strerror})") from None
    except (ValidationError, ValueError) as exc:
        raise PlanError(f"{path}: not a tsqa plan ({str(exc).splitlines()[0]})") from None
    if plan.plan_format != PLAN_FORMAT_VERSION:
        raise PlanError(f"{path}: plan format {plan.plan_format} is not {PLAN_FORMAT_VERSION}; run tsqa plan again")
    return plan


def stale_inputs(saved: Plan, current: Plan) -> list[str]:
    """Why a saved plan may no longer be applied: the inputs that changed since it was written."""
    if saved.input_digest == current.input_digest:
        return []
    return changed_inputs(saved.inputs, current.inputs) or ["tsqa version or lm-eval catalogue"]


def current_inputs(saved: Plan, extra_inputs: list[Path]) -> dict[str, str]:
    """The content hashes, now, of the saved plan's inputs and of `extra_inputs` (inputs that may
    have appeared since, e.g. eval splits fetched later); a file that is gone hashes to ''."""
    paths = {*saved.inputs, *(str(p) for p in extra_inputs)}
    out = {}
    for path in sorted(paths):
        try:
            out[path] = sha256_text(Path(path).read_bytes())
        except OSError:
            out[path] = ""
    return out


def stale_saved_plan(saved: Plan, extra_inputs: list[Path], catalog_version: str | None) -> list[str]:
    """Why a saved plan may no longer be applied, without recompiling it: every input re-hashed."""
    current = {p: h for p, h in current_inputs(saved, extra_inputs).items() if h}
    if input_digest(current, {"tsqa": __version__, "catalog": catalog_version}) == saved.input_digest:
        return []
    return changed_inputs(saved.inputs, current) or ["tsqa version or lm-eval catalogue"]


def applied_state(plan: Plan, previous: AppliedState, measured: dict[str, TaskState] | None = None) -> AppliedState:
    """The state after `plan` was applied in full: every task's stage fingerprints, with the rates
    the run measured (or the previous ones)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    tasks = dict(previous.tasks)
    for task in plan.tasks:
        old = (measured or {}).get(task.task) or previous.tasks.get(task.task)
        tasks[task.task] = TaskState(
            stages={s.stage.value: s.fingerprint for s in task.stages},
            rates=old.rates if old else {},
            output_ratio=old.output_ratio if old else {},
            applied_at=now,
        )
    return AppliedState(tasks=tasks)
