"""Diagnostics: what lint found, where, and how bad it is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding. `field` is the dotted path inside the file (`verify.samples`, `models[0]`)."""

    file: Path
    line: int
    col: int
    rule: str
    severity: Severity
    field: str
    message: str

    def escalated(self) -> Diagnostic:
        """The same finding as an error (`--strict`)."""
        return Diagnostic(self.file, self.line, self.col, self.rule, Severity.ERROR, self.field, self.message)


def format_field_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"
