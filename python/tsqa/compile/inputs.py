"""Which spec files a plan or apply reads when the command line names none: the project file's
`specs:` list (folders or files, relative to tsqa.yaml), found the way lint finds the project."""

from __future__ import annotations

from pathlib import Path


def default_spec_paths(project_file: Path | None) -> list[Path]:
    from tsqa.lint.runner import find_project_file
    from tsqa.spec.load import load_project

    found = project_file or find_project_file([Path.cwd()])
    if found is None or not found.is_file():
        return [Path("specs")]  # lint reports the missing project file
    loaded, _ = load_project(found)
    if loaded is None:
        return [Path("specs")]
    return [found.parent / entry for entry in loaded.project.specs]
