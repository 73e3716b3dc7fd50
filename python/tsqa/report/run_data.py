"""Read what a report needs from a run directory (the I/O edge of the report).

Which fingerprint folder of each stage belongs to the run: the one `state.json` names (what the last
complete apply produced); without it, the most recently completed manifest of the stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.store.manifest import Manifest, read_manifest


class RunDirError(Exception):
    """Not a run directory, or a file in it that cannot be read; the message names it."""


@dataclass
class TaskData:
    task: str
    group: str | None = None
    format: str | None = None
    license: str | None = None
    seeds: list[dict[str, Any]] = field(default_factory=list)
    """Normalised seed records (question, options, answer_index, answer_text, context)."""
    packaged: list[dict[str, Any]] = field(default_factory=list)
    verified: list[dict[str, Any]] = field(default_factory=list)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    rejects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """stage → rows (id, reason, detail)."""


@dataclass
class RunData:
    root: Path
    project: str | None
    tasks: dict[str, TaskData]
    blend: dict[str, Any] | None


def _read_parquet_dir(folder: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        return []
    try:
        tables = [pq.read_table(f) for f in files]
    except (OSError, pa.ArrowInvalid) as exc:
        raise RunDirError(f"{folder}: unreadable shard ({exc})") from None
    rows: list[dict[str, Any]] = []
    for table in tables:
        keep = [c for c in columns if c in table.column_names] if columns else table.column_names
        rows += table.select(keep).to_pylist()
    return rows


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: {exc}") from None


def _stage_folders(task_dir: Path, state: dict[str, Any] | None) -> dict[str, Path]:
    chosen: dict[str, Path] = {}
    named = (state or {}).get("stages") or {}
    for stage_dir in sorted(p for p in task_dir.iterdir() if p.is_dir()):
        candidates: list[tuple[str, Path]] = []
        for fp_dir in stage_dir.iterdir():
            manifest = read_manifest(fp_dir)
            if manifest is not None:
                candidates.append((manifest.completed_at, fp_dir))
        if stage_dir.name in named and (stage_dir / named[stage_dir.name] / "manifest.json").is_file():
            chosen[stage_dir.name] = stage_dir / named[stage_dir.name]
        elif candidates:
            chosen[stage_dir.name] = max(candidates)[1]
    return chosen


_SEED_COLUMNS = ["seed_id", "question", "options", "answer_index", "answer_text", "context"]


def read_run(root: Path) -> RunData:
    if not root.is_dir():
        raise RunDirError(f"{root}: no such run directory")
    if not (root / "tasks").is_dir() and not (root / "datasets").is_dir():
        raise RunDirError(f"{root}: not a run directory (no tasks/ or datasets/ in it)")
    state = _json(root / "state.json") or {}
    blend = _json(root / "blend.json")
    names = {p.name for p in (root / "tasks").glob("*") if p.is_dir()} | {
        p.name for p in (root / "datasets").glob("*") if p.is_dir()
    }
    tasks: dict[str, TaskData] = {}
    for name in sorted(names):
        data = TaskData(task=name)
        task_dir = root / "tasks" / name
        folders = _stage_folders(task_dir, state.get("tasks", {}).get(name)) if task_dir.is_dir() else {}
        for stage, folder in folders.items():
            manifest = read_manifest(folder)
            if manifest is not None:
                data.manifests[stage] = manifest
            rejects = _read_parquet_dir(folder / "rejects")
            if rejects:
                data.rejects[stage] = rejects
        if "normalise" in folders:
            data.seeds = _read_parquet_dir(folders["normalise"] / "data", _SEED_COLUMNS)
        if "verify" in folders:
            data.verified = _read_parquet_dir(
                folders["verify"] / "data", ["question_id", "agreement", "votes", "total"]
            )
        data.packaged = _read_parquet_dir(root / "datasets" / name)
        if data.packaged:
            first = data.packaged[0]
            data.group, data.format, data.license = first.get("group"), first.get("format"), first.get("license")
        tasks[name] = data
    for entry in (blend or {}).get("tasks", []):
        if entry.get("task") in tasks and tasks[entry["task"]].group is None:
            tasks[entry["task"]].group = entry.get("group")
    return RunData(root=root, project=(blend or {}).get("project"), tasks=tasks, blend=blend)
