"""The doctests of tsqa.curate run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["neardup", "exact", "vote", "contamination"])
def test_docstrings(module: str) -> None:
    mod = importlib.import_module(f"tsqa.curate.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
