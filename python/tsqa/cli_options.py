"""Command-line options shared by several verbs, defined once so their help and types agree."""

from __future__ import annotations

from pathlib import Path

import click

project_option = click.option(
    "--project",
    "project_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The project file. Default: the nearest tsqa.yaml beside or above PATHS.",
)
