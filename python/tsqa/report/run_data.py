"""Find what a report needs in a run directory (the I/O edge of the report).

Which fingerprint folder of each stage belongs to the run: the one `state.json` names (what the last
complete apply produced); without it, the most recently completed manifest of the stage. Shards are
only listed here: `build` reads them one at a time, a few columns each, so a report of millions of
rows holds aggregates and bounded samples, never the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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
    seeds: list[Path] = field(default_factory=list)
    """Shards of the normalised seed records (seed_id, question, options, answer_index, answer_text, context)."""
    packaged: list[Path] = field(default_factory=list)
    verified: list[Path] = field(default_factory=list)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    rejects: dict[str, list[Path]] = field(default_factory=dict)
    """stage → shards of its rejected rows (id, reason, detail)."""


@dataclass
class RunData:
    root: Path
    project: str | None
    tasks: dict[str, TaskData]
    blend: dict[str, Any] | None


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def num_rows(path: Path) -> int:
    """Rows of one shard, from its footer."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError, pa.ArrowException) as exc:  # ValueError: a footer name not UTF-8
        raise RunDirError(f"{path}: unreadable shard ({exc})") from None


def read_columns(path: Path, columns: Sequence[str]) -> pa.Table:
    """These columns of one shard, in this order; one the shard lacks reads as nulls."""
    try:
        names = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[c for c in columns if c in names])
    except (OSError, ValueError, pa.ArrowException) as exc:  # ValueError: a footer name not UTF-8
        raise RunDirError(f"{path}: unreadable shard ({exc})") from None
    return pa.table(
        [table[c] if c in names else pa.nulls(table.num_rows) for c in columns],
        names=list(columns),
    )


def iter_columns(files: Sequence[Path], columns: Sequence[str]) -> Iterator[pa.Table]:
    for path in files:
        yield read_columns(path, columns)


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
            rejects = parquet_files(folder / "rejects")
            if rejects:
                data.rejects[stage] = rejects
        if "normalise" in folders:
            data.seeds = parquet_files(folders["normalise"] / "data")
        if "verify" in folders:
            data.verified = parquet_files(folders["verify"] / "data")
        data.packaged = parquet_files(root / "datasets" / name)
        for path in data.packaged:  # the first packaged row names the task's group, format and license
            first = read_columns(path, ["group", "format", "license"]).slice(0, 1).to_pylist()
            if first:
                data.group, data.format, data.license = first[0]["group"], first[0]["format"], first[0]["license"]
                break
        tasks[name] = data
    for entry in (blend or {}).get("tasks", []):
        if entry.get("task") in tasks and tasks[entry["task"]].group is None:
            tasks[entry["task"]].group = entry.get("group")
    return RunData(root=root, project=(blend or {}).get("project"), tasks=tasks, blend=blend)
