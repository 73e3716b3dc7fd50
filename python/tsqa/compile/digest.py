"""The digest of a plan's inputs, and the check that refuses a saved plan whose inputs changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tsqa.compile.fingerprint import canonical_json, sha256_text


def input_digest(inputs: dict[str, str], extra: dict[str, Any]) -> str:
    return sha256_text(canonical_json({"files": inputs, "extra": extra}))


def changed_inputs(saved: dict[str, str], current: dict[str, str]) -> list[str]:
    """Input paths that were added, removed or edited since the plan was saved."""
    changed = [p for p in saved if current.get(p) != saved[p]]
    changed += [p for p in current if p not in saved]
    return sorted(set(changed))


def file_hashes(paths: list[Path]) -> dict[str, str]:
    return {str(p): sha256_text(p.read_bytes()) for p in paths if p.is_file()}
