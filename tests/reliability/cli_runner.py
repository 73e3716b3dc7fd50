"""`tsqa apply` through the real command line, with the scripted project's engine (optionally
failing some requests, optionally slow), so tests see exit codes and messages as users do.

    python cli_runner.py ROOT MODE SLEEP_S [apply options...]

MODE: ok (the script's answers) or flaky (requests whose id ends in ":4" fail, as after retries).
Every call's request id is appended to ROOT/calls.log.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

from scripted_project import script

import tsqa.apply.executor
from tsqa.cli import main as cli
from tsqa.engines.base import Request, Result
from tsqa.engines.scripted import ScriptedEngine


def run() -> None:
    root, mode, sleep_s = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    log = os.open(root / "calls.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def answer(request: Request) -> str | list[str] | Result:
        os.write(log, f"{request.id}\n".encode())
        time.sleep(sleep_s)
        if mode == "flaky" and request.id.endswith(":4"):
            return Result.failed(request.id, "gave up after 7 attempts: HTTP 503: queue full")
        return script(request)

    engine = ScriptedEngine(answer)
    tsqa.apply.executor.create_engine = lambda cfg: engine  # type: ignore[assignment]
    os.chdir(root)
    cli(["apply", "specs", "--project", "tsqa.yaml", "--no-progress", *sys.argv[4:]])


if __name__ == "__main__":
    run()
