"""python -m tsqa.report RUN_DIR: write RUN_DIR/report.md (+ report/*.png) and RUN_DIR/report.html."""

from __future__ import annotations

import sys
from pathlib import Path

from tsqa.report.run_data import RunDirError
from tsqa.report.write import write_report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tsqa.report RUN_DIR", file=sys.stderr)
        return 2
    try:
        md, page = write_report(Path(args[0]))
    except RunDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {md} and {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
