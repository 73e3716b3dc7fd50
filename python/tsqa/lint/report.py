"""Render diagnostics as text (for people), JSON (for tools) or GitHub Actions annotations."""

from __future__ import annotations

import json
from typing import Literal

from rich.console import Console
from rich.markup import escape

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.runner import LintResult

OutputFormat = Literal["text", "json", "github"]


def render(result: LintResult, fmt: OutputFormat, console: Console) -> None:
    if fmt == "json":
        console.out(json.dumps(as_json(result), indent=2), highlight=False)
    elif fmt == "github":
        for d in result.diagnostics:
            console.out(github_line(d), highlight=False)
        console.out(summary(result), highlight=False)
    else:
        for d in result.diagnostics:
            style = "red" if d.severity is Severity.ERROR else "yellow"
            console.print(
                f"[bold]{escape(str(d.file))}:{d.line}:{d.col}[/]: [{style}]{d.severity.value}{escape(f'[{d.rule}]')}[/] "
                f"[cyan]{escape(d.field)}[/]: {escape(d.message)}",
                highlight=False,
            )
        console.print(summary(result), highlight=False)


def text_line(d: Diagnostic) -> str:
    return f"{d.file}:{d.line}:{d.col}: {d.severity.value}[{d.rule}] {d.field}: {d.message}"


def github_line(d: Diagnostic) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    level = "error" if d.severity is Severity.ERROR else "warning"
    message = f"{d.field}: {d.message}".replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    file = str(d.file).replace(",", "%2C").replace(":", "%3A")
    return f"::{level} file={file},line={d.line},col={d.col},title=tsqa {d.rule}::{message}"


def as_json(result: LintResult) -> dict[str, object]:
    return {
        "files": result.files,
        "errors": result.errors,
        "warnings": result.warnings,
        "diagnostics": [
            {
                "file": str(d.file),
                "line": d.line,
                "col": d.col,
                "rule": d.rule,
                "severity": d.severity.value,
                "field": d.field,
                "message": d.message,
            }
            for d in result.diagnostics
        ],
    }


def summary(result: LintResult) -> str:
    if not result.diagnostics:
        return f"All checks passed ({result.files} files)."
    return f"Found {_count(result.errors, 'error')} and {_count(result.warnings, 'warning')} in {result.files} files."


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
