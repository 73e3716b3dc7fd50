from __future__ import annotations

from pathlib import Path

import pytest
from scripted_project import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path)
    return tmp_path
