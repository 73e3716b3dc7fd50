from __future__ import annotations

from pathlib import Path

import pytest
from stage_project import Compiled


@pytest.fixture
def compiled(tmp_path: Path) -> Compiled:
    return Compiled(tmp_path)
