"""Lint a set of files or folders: load everything, run every rule, collect the diagnostics.

Lint reads no dataset and calls no model: the lm-eval facts it needs come from the shipped
catalogue snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.rules import RULES, LintContext
from tsqa.lint.rules.base import SpecFacts
from tsqa.spec.load import PROJECT_FILE, LoadedProject, LoadedSpec, load_project, load_spec

if TYPE_CHECKING:
    from tsqa.seeds.catalog import Catalog

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass
class LintResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    # What was loaded, for commands that go on from a clean lint (plan, apply).
    project: LoadedProject | None = None
    specs: list[LoadedSpec] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def lint_paths(
    paths: Sequence[Path],
    *,
    project_file: Path | None = None,
    strict: bool = False,
    catalog: Catalog | None = None,
    skip: frozenset[str] = frozenset(),
) -> LintResult:
    """Lint `paths`. `skip`: rule ids not to run (a command that does that check itself)."""
    setup = lint_setup(paths, project_file=project_file, catalog=catalog)
    checked = lint_chunk(setup, setup.spec_files, skip)
    result = lint_finish(setup, [checked], strict=strict, skip=skip)
    result.specs = checked.specs
    return result


@dataclass
class LintSetup:
    """What every spec is linted against, read once: the spec files found, the project, the
    catalogue, and the findings about the paths and the project file themselves."""

    spec_files: list[Path]
    project: LoadedProject | None
    catalog: Catalog | None
    diagnostics: list[Diagnostic]
    files: int


@dataclass
class ChunkLint:
    """Some spec files loaded and checked by the rules of scope "spec" (lint_chunk)."""

    specs: list[LoadedSpec]
    diagnostics: list[Diagnostic]
    facts: list[SpecFacts]
    """Of each loaded spec, in order: what the rules of scope "set" read (lint_finish)."""
    files: int


def lint_setup(paths: Sequence[Path], *, project_file: Path | None = None, catalog: Catalog | None = None) -> LintSetup:
    diagnostics: list[Diagnostic] = []
    spec_files, missing = discover_specs(paths)
    diagnostics += [
        Diagnostic(p, 1, 1, "io-error", Severity.ERROR, "<root>", "no such file or directory") for p in missing
    ]
    project_file = project_file or find_project_file(paths)
    project: LoadedProject | None = None
    files = 0
    if project_file is None:
        anchor = spec_files[0] if spec_files else Path(".")
        diagnostics.append(
            Diagnostic(
                anchor,
                1,
                1,
                "project-not-found",
                Severity.ERROR,
                "<root>",
                f"no {PROJECT_FILE} found beside or above the linted paths (use --project)",
            )
        )
    else:
        project, diags = load_project(project_file)
        diagnostics += diags
        files += 1
    if catalog is None:
        catalog, problem = _default_catalog()
        if problem is not None:
            diagnostics.append(problem)
    return LintSetup(spec_files, project, catalog, diagnostics, files)


def lint_chunk(setup: LintSetup, spec_files: Sequence[Path], skip: frozenset[str] = frozenset()) -> ChunkLint:
    """Load `spec_files` (some of setup.spec_files) and run the rules of scope "spec" on them:
    each spec's findings depend on it alone, so chunks may be checked apart (in parallel)."""
    out = ChunkLint([], [], [], 0)
    for path in spec_files:
        loaded, diags = load_spec(path, setup.project)
        out.diagnostics += diags
        out.files += 1
        if loaded is not None:
            out.specs.append(loaded)
    ctx = LintContext(setup.project, out.specs, setup.catalog)
    for rule in RULES.values():
        if rule.scope == "spec" and rule.id not in skip:
            out.diagnostics += _run_rule(rule.id, rule.check, ctx)
    out.facts = [SpecFacts.of(loaded) for loaded in out.specs]
    return out


def lint_finish(
    setup: LintSetup, chunks: Sequence[ChunkLint], *, strict: bool = False, skip: frozenset[str] = frozenset()
) -> LintResult:
    """The chunks' findings (in spec-file order) with the rules of scope "set" run over all specs,
    sorted; the same result however the spec files were split into chunks. `specs` is left
    empty: the caller that holds the loaded specs sets it."""
    result = LintResult(files=setup.files + sum(c.files for c in chunks), project=setup.project)
    result.diagnostics = [*setup.diagnostics, *(d for c in chunks for d in c.diagnostics)]
    facts = [f for c in chunks for f in c.facts]
    for rule in RULES.values():
        if rule.scope == "set" and rule.id not in skip:
            result.diagnostics += _run_rule(rule.id, rule.check, facts)
    result.diagnostics = sorted(set(result.diagnostics))
    if strict:
        result.diagnostics = [d.escalated() for d in result.diagnostics]
    return result


def discover_specs(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Spec files under `paths` (folders searched recursively), excluding project files."""
    found: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file() and p.name != PROJECT_FILE
            )
        elif path.is_file():
            if path.name != PROJECT_FILE:
                found.append(path)
        else:
            missing.append(path)
    return list(dict.fromkeys(found)), missing


def find_project_file(paths: Sequence[Path]) -> Path | None:
    """The tsqa.yaml named among `paths`, or the nearest one beside or above them, or in the cwd."""
    for path in paths:
        if path.name == PROJECT_FILE and path.is_file():
            return path
    for path in [*paths, Path.cwd()]:
        start = path.resolve() if path.is_dir() else path.resolve().parent
        for folder in (start, *start.parents):
            candidate = folder / PROJECT_FILE
            if candidate.is_file():
                return _relative(candidate)
    return None


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _default_catalog() -> tuple[Catalog | None, Diagnostic | None]:
    from tsqa.seeds.catalog import CatalogError, load_catalog

    try:
        return load_catalog(), None
    except CatalogError as exc:
        # Without the catalogue the lm-eval rules cannot run; say so rather than pass silently.
        return None, Diagnostic(Path("<tsqa>"), 1, 1, "catalog-unavailable", Severity.ERROR, "<catalog>", str(exc))


def _run_rule(rule_id: str, check: Callable[[Any], Iterable[Diagnostic]], ctx: object) -> list[Diagnostic]:
    # A rule bug must not hide the other findings; it is reported as an internal error instead.
    try:
        return list(check(ctx))
    except Exception as exc:  # noqa: BLE001
        return [
            Diagnostic(
                Path("<tsqa>"),
                1,
                1,
                "internal-error",
                Severity.ERROR,
                rule_id,
                f"rule {rule_id} failed: {type(exc).__name__}: {exc} (please report this bug)",
            )
        ]
