"""JSON Schema of the two file kinds, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import TypeAdapter

from tsqa.spec.models import Project, TaskSpec

FileKind = Literal["project", "task"]
SCHEMA_FILES: dict[FileKind, str] = {"project": "project.schema.json", "task": "task.schema.json"}


def json_schema(kind: FileKind) -> dict[str, Any]:
    model = Project if kind == "project" else TaskSpec
    schema = TypeAdapter(model).json_schema(mode="validation")
    title = "tsqa project file (tsqa.yaml)" if kind == "project" else "tsqa task spec"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}
