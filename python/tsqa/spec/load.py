"""Load the project file and task specs: YAML with positions → merged defaults → typed models.

Every failure becomes a Diagnostic; nothing here raises for a user's mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tsqa.diagnostics import Diagnostic, Severity, format_field_path
from tsqa.spec.merge import merge_stage_defaults
from tsqa.spec.models import Project, TaskSpec
from tsqa.spec.validation_errors import diagnostics_from_validation
from tsqa.spec.yaml_source import PathKey, Pos, YamlDocument, YamlLoadError, load_yaml_file

PROJECT_FILE = "tsqa.yaml"

# Built once per process: validators are compiled here, never per file.
_PROJECT = TypeAdapter(Project)
_TASK = TypeAdapter(TaskSpec)


@dataclass(frozen=True)
class SourceRef:
    """Where a value of a loaded file came from."""

    file: Path
    pos: Pos


@dataclass
class LoadedProject:
    doc: YamlDocument
    project: Project

    @property
    def path(self) -> Path:
        return self.doc.file

    def ref(self, path: PathKey, *, prefer_key: bool = False) -> SourceRef:
        return SourceRef(self.doc.file, self.doc.position(path, prefer_key=prefer_key))


@dataclass
class LoadedSpec:
    doc: YamlDocument
    spec: TaskSpec
    # merged-spec path → path in the project file, for values that came from `defaults:`
    from_defaults: dict[PathKey, PathKey]
    project_doc: YamlDocument | None

    @property
    def path(self) -> Path:
        return self.doc.file

    def ref(self, path: PathKey, *, prefer_key: bool = False) -> SourceRef:
        """Source position of a value of the merged spec (in the spec or in tsqa.yaml)."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.from_defaults and self.project_doc is not None:
                mapped = self.from_defaults[prefix] + path[end:]
                return SourceRef(self.project_doc.file, self.project_doc.position(mapped, prefer_key=prefer_key))
        return SourceRef(self.doc.file, self.doc.position(path, prefer_key=prefer_key))

    def diagnostic(
        self,
        path: PathKey,
        rule: str,
        message: str,
        severity: Severity = Severity.ERROR,
        *,
        prefer_key: bool = False,
    ) -> Diagnostic:
        ref = self.ref(path, prefer_key=prefer_key)
        return Diagnostic(ref.file, ref.pos.line, ref.pos.col, rule, severity, format_field_path(path), message)


def load_project(path: Path) -> tuple[LoadedProject | None, list[Diagnostic]]:
    doc, diags = _read_mapping(path)
    if doc is None:
        return None, diags
    try:
        project = _PROJECT.validate_python(doc.data)
    except ValidationError as exc:
        return None, diagnostics_from_validation(exc, doc.data, {(): doc}, doc)
    return LoadedProject(doc, project), []


def load_spec(path: Path, project: LoadedProject | None) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    doc, diags = _read_mapping(path)
    if doc is None:
        return None, diags
    defaults = project.doc.data.get("defaults") if project is not None else None
    merged, taken = merge_stage_defaults(doc.data, defaults)
    try:
        spec = _TASK.validate_python(merged)
    except ValidationError as exc:
        origin: dict[PathKey, YamlDocument] = {(): doc}
        if project is not None:
            origin.update(dict.fromkeys(taken, project.doc))
        return None, _dedupe(diagnostics_from_validation(exc, merged, origin, doc, path_map=taken))
    return LoadedSpec(doc, spec, taken, project.doc if project else None), []


def _read_mapping(path: Path) -> tuple[YamlDocument | None, list[Diagnostic]]:
    try:
        doc = load_yaml_file(path)
    except YamlLoadError as exc:
        return None, [Diagnostic(path, exc.pos.line, exc.pos.col, exc.rule, Severity.ERROR, "<root>", exc.message)]
    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else f"a {_kind(doc.data)}"
        return None, [
            Diagnostic(
                path,
                1,
                1,
                "yaml-structure",
                Severity.ERROR,
                "<root>",
                f"expected a mapping of fields at the top level, found {found}",
            )
        ]
    return doc, []


def _kind(value: Any) -> str:
    return "list" if isinstance(value, list) else "scalar"


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diags))
