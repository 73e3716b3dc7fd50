"""Render the spec reference (docs/SPEC_REFERENCE.md) from the models, so it cannot drift."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from tsqa.spec.models import Project, TaskSpec


def render_reference() -> str:
    out = [
        "# Spec reference",
        "",
        "Generated from the pydantic models by `tsqa schema --reference`; do not edit by hand.",
        "Unknown keys are errors everywhere. Stage blocks (`generate`, `enrich`, `verify`, `dedup`,",
        "`decontaminate`, `blend`) may also appear under `defaults:` in tsqa.yaml; a spec's own values",
        "are merged over them key by key.",
        "",
    ]
    seen: set[type[BaseModel]] = set()
    for root, title in ((Project, "Project file: tsqa.yaml"), (TaskSpec, "Task spec: specs/<task>.yaml")):
        out += [f"## {title}", ""]
        queue: list[type[BaseModel]] = [root]
        while queue:
            model = queue.pop(0)
            if model in seen:
                continue
            seen.add(model)
            out += _model_table(model)
            queue += [m for m in _nested_models(model) if m not in seen]
    return "\n".join(out) + "\n"


def _model_table(model: type[BaseModel]) -> list[str]:
    doc = (model.__doc__ or "").strip().splitlines()
    lines = [f"### `{model.__name__}`", ""]
    if doc and not doc[0].startswith("!!!") and model.__doc__ != BaseModel.__doc__:
        lines += [" ".join(d.strip() for d in doc), ""]
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    # Resolved hints, not field.annotation: with postponed annotations pydantic may keep a
    # ForwardRef there, depending on what was imported first.
    hints = typing.get_type_hints(model, include_extras=True)
    for name, field in model.model_fields.items():
        lines.append(
            f"| `{name}` | {_type_name(hints.get(name, field.annotation))} | {_default(field)} | {_describe(field)} |"
        )
    return [*lines, ""]


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined:
        return "—"
    if isinstance(value, BaseModel):
        return "(defaults)"
    return f"`{value!r}`".replace("|", "\\|")


def _describe(field: FieldInfo) -> str:
    text = (field.description or "").replace("\n", " ").replace("|", "\\|")
    return text


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if not isinstance(a, FieldInfo | str)]
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a!r}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[`{annotation.__name__}`](#{annotation.__name__.lower()})"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    hints = typing.get_type_hints(model, include_extras=True)
    for name, field in model.model_fields.items():
        walk(hints.get(name, field.annotation))
    return found
