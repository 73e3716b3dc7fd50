"""The packaged datasets of a run, per task, with the blend weights and an optional licence filter
(the I/O edge shared by every export)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.seeds.fetch import LicenseFilter


class ExportError(Exception):
    """A run directory that cannot be exported; the message names the file and what to do."""


@dataclass(frozen=True)
class TaskRows:
    task: str
    group: str | None
    weight: float
    license: str | None
    table: pa.Table
    """The packaged rows (structured fields, `text`, provenance), in the run's order."""


@dataclass(frozen=True)
class Selection:
    tasks: list[TaskRows]
    skipped: list[tuple[str, str]]
    """(task, why) for tasks left out: no rows, or a licence outside the filter."""


def read_packaged(run: Path, licenses: LicenseFilter | None = None) -> Selection:
    blend_path = run / "blend.json"
    try:
        blend = json.loads(blend_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{blend_path}: not found; is {run} a run directory after a complete `tsqa apply`?") from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{blend_path}: {exc}") from None
    tasks: list[TaskRows] = []
    skipped: list[tuple[str, str]] = []
    for entry in blend.get("tasks", []):
        name = entry["task"]
        files = sorted((run / "datasets" / name).glob("part-*.parquet"))
        try:
            table = pa.concat_tables([pq.read_table(f) for f in files]) if files else None
        except (OSError, pa.ArrowInvalid) as exc:
            raise ExportError(f"{run / 'datasets' / name}: unreadable shard ({exc})") from None
        if table is None or table.num_rows == 0:
            skipped.append((name, "no packaged rows"))
            continue
        license_ = table.column("license")[0].as_py() if "license" in table.column_names else None
        if licenses is not None and (why := licenses.reason_to_skip(license_)):
            skipped.append((name, why))
            continue
        tasks.append(TaskRows(name, entry.get("group"), float(entry.get("weight", 1.0)), license_, table))
    return Selection(tasks, skipped)
