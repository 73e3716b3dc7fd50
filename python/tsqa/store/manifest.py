"""Per-stage manifests: what a completed stage wrote and how it got there.

A stage folder is complete exactly when its manifest exists; the manifest is written last,
atomically, after every shard. Resume trusts a manifest whose fingerprint matches and redoes the
rest (shards already written are kept; model calls come back from the response cache).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from tsqa.store.atomic import write_json_atomic

MANIFEST_FILE = "manifest.json"


class ShardInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    rows: int
    sha256: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    stage: str
    fingerprint: str
    plan_digest: str
    rows_in: int
    rows_out: int
    shards: list[ShardInfo]
    rows_kept: bool = True
    """False: the stage's kept rows were not written (`StageDef.keeps_rows`): `shards` is empty,
    `rows_out` counts them, and a stage that reads them computes them again from the upstream."""
    rejects: list[ShardInfo] = []
    """Its rejects shards, when its rows were not kept (they are what replays it: checked on disk
    like `shards`)."""
    rejections: dict[str, int] = {}
    """Rejection reason → rows rejected for it (the rows themselves are in rejects/)."""
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    model_revision: str | None = None
    sampling: dict[str, object] | None = None
    failures_accepted: int = 0
    """Model calls that still failed after retries and were recorded as engine_error rejects
    because the run accepted failures (`--accept-failures`); 0 otherwise."""
    completed_at: str


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_json_atomic(folder / MANIFEST_FILE, manifest.model_dump(mode="json"))


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError):
        return None  # a foreign or damaged manifest: the stage is redone
