"""`tsqa lint`: schema and semantic checks of specs, without reading data or calling models."""

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.runner import LintResult, lint_paths

__all__ = ["Diagnostic", "LintResult", "Severity", "lint_paths"]
