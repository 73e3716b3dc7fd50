"""Resolve a spec's stage settings: the spec's own values over the project file's `defaults:`.

Merging happens on the raw data, before validation, so that every merged value keeps pointing at
the file and line it came from: a bad default is reported in tsqa.yaml, a bad override in the spec.
"""

from __future__ import annotations

from typing import Any

from tsqa.spec.models.stages import STAGE_NAMES
from tsqa.spec.yaml_source import PathKey


def merge_stage_defaults(spec: dict[str, Any], defaults: Any) -> tuple[dict[str, Any], dict[PathKey, PathKey]]:
    """Return the merged spec and, for every subtree taken from the defaults, the path it had in
    the project file."""
    merged = dict(spec)
    taken: dict[PathKey, PathKey] = {}
    if not isinstance(defaults, dict):
        return merged, taken
    for stage in STAGE_NAMES:
        default = defaults.get(stage)
        if not isinstance(default, dict):
            continue
        own = spec.get(stage)
        if stage not in spec:
            merged[stage] = default
            taken[(stage,)] = ("defaults", stage)
        elif isinstance(own, dict) and (stage != "verify" or _same_kind(own, default)):
            merged[stage] = _deep_merge(own, default, (stage,), ("defaults", stage), taken)
    return merged, taken


def _same_kind(own: dict[str, Any], default: dict[str, Any]) -> bool:
    # A spec that picks another kind of verification replaces the default block whole:
    # `samples` of a default vote means nothing to `kind: none`.
    return bool(own.get("kind", "vote") == default.get("kind", "vote"))


def _deep_merge(
    own: dict[str, Any],
    default: dict[str, Any],
    path: PathKey,
    default_path: PathKey,
    taken: dict[PathKey, PathKey],
) -> dict[str, Any]:
    out = dict(own)
    for key, value in default.items():
        if key not in own:
            out[key] = value
            taken[(*path, key)] = (*default_path, key)
        elif isinstance(own[key], dict) and isinstance(value, dict):
            out[key] = _deep_merge(own[key], value, (*path, key), (*default_path, key), taken)
    return out
