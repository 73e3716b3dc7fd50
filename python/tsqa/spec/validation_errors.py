"""Pydantic validation errors → diagnostics that name file:line:col, the field, what was expected
and what was found."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from pydantic import ValidationError

from tsqa.diagnostics import Diagnostic, Severity, format_field_path
from tsqa.spec.yaml_source import PathKey, YamlDocument

SCHEMA_RULE = "schema"


def diagnostics_from_validation(
    error: ValidationError,
    data: Any,
    origin: dict[PathKey, YamlDocument],
    default_doc: YamlDocument,
    *,
    path_map: dict[PathKey, PathKey] | None = None,
) -> list[Diagnostic]:
    """Convert each pydantic error. `origin` says which document a data path came from (a spec
    or the project file's defaults); `path_map` translates merged paths to that document's paths."""
    out = []
    for err in error.errors(include_url=False):
        data_path, exists = _resolve(data, err["loc"])
        doc, doc_path = _locate(data_path, origin, default_doc, path_map or {})
        extra = err["type"] == "extra_forbidden"
        pos = doc.position(doc_path, prefer_key=extra)
        out.append(
            Diagnostic(
                file=doc.file,
                line=pos.line,
                col=pos.col,
                rule=SCHEMA_RULE,
                severity=Severity.ERROR,
                field=format_field_path(_without_tags(err["loc"], data)),
                message=_message(err, exists),
            )
        )
    return out


def _resolve(data: Any, loc: tuple[Any, ...]) -> tuple[PathKey, bool]:
    """The longest prefix of `loc` that exists in `data`, skipping union tags pydantic inserts."""
    path: list[str | int] = []
    node = data
    exists = True
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif isinstance(part, str) and _is_union_tag(part):
            continue
        else:
            exists = False
            path.append(part)
            break
    return tuple(path), exists


# Tags pydantic inserts into a loc for discriminated unions: the `kind`/`engine` literals, and the
# "family:member" tags of the callable discriminators in tsqa.spec.models.
_KIND_TAGS = frozenset({"vote", "none", "vllm", "openai", "local", "ray"})


def _is_union_tag(part: str) -> bool:
    return part in _KIND_TAGS or ":" in part


def _without_tags(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    resolved, _ = _resolve(data, loc)
    return resolved


def _locate(
    path: PathKey,
    origin: dict[PathKey, YamlDocument],
    default: YamlDocument,
    path_map: dict[PathKey, PathKey],
) -> tuple[YamlDocument, PathKey]:
    for end in range(len(path), -1, -1):
        prefix = path[:end]
        if prefix in origin:
            mapped = path_map.get(prefix, prefix)
            return origin[prefix], mapped + path[end:]
    return default, path


def _message(err: Any, exists: bool) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        owners = _field_owners().get(name)
        if owners:  # a real field in the wrong place: say where it belongs, not "did you mean" itself
            return f"field {name!r} does not belong here; it is a field of {', '.join(owners)}"
        close = difflib.get_close_matches(name, list(_field_owners()), n=1, cutoff=0.75)
        return f"unknown field {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
    found = _show(err.get("input"))
    return f"{err['msg'][0].lower()}{err['msg'][1:]}, found {found} [type={kind}]"


@cache
def _field_owners() -> dict[str, list[str]]:
    """Every spec field name → the spec models that have it (sorted, for stable messages)."""
    from tsqa.spec.models.common import SpecModel

    owners: dict[str, set[str]] = {}
    pending = list(SpecModel.__subclasses__())
    while pending:
        model = pending.pop()
        if not model.__name__.startswith("_"):  # private bases are not in the spec reference
            for name in model.model_fields:
                owners.setdefault(name, set()).add(model.__name__)
        pending += model.__subclasses__()
    return {name: sorted(models) for name, models in sorted(owners.items())}


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, int) and value.bit_length() > 200:  # repr() of a 5000-digit int raises
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
