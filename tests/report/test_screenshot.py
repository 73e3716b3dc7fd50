"""The HTML report in a real headless Chromium: it renders, is not blank, and has every section."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from run_fixture import build_run

from tsqa.report import write_report
from tsqa.report.write import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,4000"]


def test_report_page_renders_with_every_section_and_its_charts(tmp_path: Path) -> None:
    from PIL import Image

    run = build_run(tmp_path / "run")
    _, page = write_report(run)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,  # type: ignore[list-item]
    )
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 4000)
    histogram = image.histogram()
    white = histogram[255] / sum(histogram)
    assert 0.3 < white < 0.98  # mostly page background, but with text, tables and charts on it
    assert sum(1 for c in image.crop((0, 0, 1280, 1200)).histogram() if c) > 20  # anti-aliased text, not a flat page
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,  # type: ignore[list-item]
    ).stdout
    for sid, title in SECTIONS:
        assert f'<section id="{sid}">' in dom and title in dom
    assert dom.count('src="data:image/png;base64,') == 6
    assert "Which river number 0" in dom and "In the tale of the flows river" in dom  # a seed beside its output
