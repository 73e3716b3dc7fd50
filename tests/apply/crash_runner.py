"""Run apply on a scripted project in this process and SIGKILL ourselves at a chosen model call
(or never), logging every call. Used by test_crash_resume.py as a subprocess.

    python crash_runner.py ROOT KILL_AT_CALL SLEEP_S
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scripted_project import script

from tsqa.apply.session import run_apply
from tsqa.engines.base import Request
from tsqa.engines.scripted import ScriptedEngine


def main() -> None:
    root, kill_at, sleep_s = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    log = open(root / "calls.log", "a", encoding="utf-8")  # noqa: SIM115 - kept open until the kill
    calls = 0

    def killing_script(request: Request) -> str | list[str]:
        nonlocal calls
        calls += 1
        log.write(request.id + "\n")
        log.flush()
        os.fsync(log.fileno())
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(sleep_s)
        return script(request)

    engine = ScriptedEngine(killing_script)
    run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine, commit_every=1)
    print("applied")


if __name__ == "__main__":
    main()
