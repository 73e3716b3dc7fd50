"""`tsqa.__version__` is a literal kept equal to the versions the build declares."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import tsqa
from tsqa import _native

REPO = Path(__file__).resolve().parents[1]


def test_the_version_literal_is_the_declared_version() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
    assert tsqa.__version__ == declared == cargo
    assert _native.__version__ == cargo  # the extension built from this tree
    assert version("tsqa") == declared  # the installed distribution
