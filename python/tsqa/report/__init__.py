"""The quality report of a run: what a data team checks before training on synthetic data.

Read from a run directory only (no plan, no specs): packaged rows beside their seeds, diversity,
answer positions, lengths, vote agreement, every rejection reason with an example, yields and
tokens. Written as Markdown (with PNG charts beside it) and as one self-contained HTML page.

    python -m tsqa.report RUN_DIR      # writes RUN_DIR/report.md, RUN_DIR/report/*.png, RUN_DIR/report.html
"""

from tsqa.report.build import build_report
from tsqa.report.write import write_report

__all__ = ["build_report", "write_report"]
