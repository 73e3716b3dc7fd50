"""The attack harness: a project on disk, the CLI run in-process, a spy on every seed reader, and a
marker file that attack modules write when imported.

Every attack asserts what issue 9 asks: exit 1, a diagnostic naming a file and a line, no
traceback, no seed row read (the spy), no code imported (the marker).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT = "version: 1\nname: attack\nmodels: {generator: {engine: vllm, model: m}, solver: {engine: vllm, model: m}}\n"
TRAIN_ROWS = (
    '{"question": "How many legs does a spider have?", "answer": "8"}\n'
    '{"question": "What gas do plants take in for photosynthesis?", "answer": "carbon dioxide"}\n'
)
EVAL_ROWS = (
    '{"question": "Which planet is known as the red planet in our solar system?", "answer": "Mars"}\n'
    '{"question": "What is the boiling point of water at sea level in Celsius?", "answer": "100"}\n'
)
# A diagnostic naming a file and a line: `path.yaml:4:10:` (lint) or `data.jsonl:3:` (records).
FILE_LINE = re.compile(r"[\w./\\-]+\.(?:ya?ml|jsonl|json|parquet|py):\d+")


@dataclass
class Attack:
    """One attempt: files to write (relative to the project), symlinks, and the spec."""

    spec: str
    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # link → target (relative to the link's folder or absolute)
    project: str = ""  # extra lines for tsqa.yaml
    outside: dict[str, str] = field(default_factory=dict)  # files in a folder beside the project


@dataclass
class Workspace:
    root: Path  # the project
    outside: Path  # a folder outside it
    marker: Path
    reads: list[str]

    @property
    def spec(self) -> Path:
        return self.root / "specs" / "attack.yaml"

    def build(self, attack: Attack) -> None:
        (self.root / "specs").mkdir(parents=True, exist_ok=True)
        (self.root / "tsqa.yaml").write_text(PROJECT + self._fill(attack.project))
        for rel, text in {**attack.outside}.items():
            path = self.outside / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self._fill(text))
        for rel, text in attack.files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self._fill(text))
        for rel, target in attack.links.items():
            link = self.root / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(self._fill(target))
        self.spec.write_text(self._fill(attack.spec))

    def _fill(self, text: str) -> str:
        import lm_eval.tasks

        tasks = Path(os.path.realpath(Path(lm_eval.tasks.__file__).parent))
        return (
            text.replace("{FROM_TASKS}", os.path.relpath(self.root, tasks))
            .replace("{MARKER}", str(self.marker))
            .replace("{OUTSIDE}", str(self.outside))
            .replace("{ROOT}", str(self.root))
        )

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(_main(), list(args))
        return result

    def lint(self) -> Result:
        return self.run("lint", str(self.spec), "--project", str(self.root / "tsqa.yaml"))

    def fetch(self, *extra: str) -> Result:
        return self.run("seeds", "fetch", str(self.spec), "--project", str(self.root / "tsqa.yaml"), *extra)

    def plan(self) -> Result:
        return self.run("plan", str(self.spec), "--project", str(self.root / "tsqa.yaml"))

    def assert_refused(self, result: Result, *, rows_read: bool = False) -> None:
        """Exit 1, a file:line diagnostic, no traceback, no code run, (no seed row read)."""
        out = result.output
        assert result.exit_code == 1, out
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in out, out
        assert FILE_LINE.search(out), out
        assert not self.marker.exists(), "attack code was imported"
        if not rows_read:
            assert self.reads == [], f"seed data was read: {self.reads}"


def _main() -> Any:
    from tsqa.cli import main

    return main


EVIL_MODULE = (
    "import pathlib\npathlib.Path({marker!r}).write_text('imported')\n"
    "def run(*args, **kwargs):\n    pathlib.Path({marker!r}).write_text('called')\n    return 'pwned'\n"
)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh project, every seed reader spied on, and an evil module ready to be imported."""
    root = tmp_path / "project"
    outside = tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    marker = tmp_path / "MARKER"
    for folder in (root, outside, root / "specs"):
        folder.mkdir(exist_ok=True)
        (folder / "evil.py").write_text(EVIL_MODULE.format(marker=str(marker)))
    reads: list[str] = []
    _spy(monkeypatch, reads)
    monkeypatch.delenv("TSQA_SEED_DATA_DIR", raising=False)
    yield Workspace(root, outside, marker, reads)


def _spy(monkeypatch: pytest.MonkeyPatch, reads: list[str]) -> None:
    """Record every seed read (and still do it): JSON/Parquet rows, row counts, the hub, the store."""
    from tsqa.seeds import load as load_module
    from tsqa.seeds import store as store_module
    from tsqa.seeds.readers import files as files_module
    from tsqa.seeds.readers import hub as hub_module

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            reads.append(f"{label}({args[0] if args else ''})")
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)

    wrap(files_module, "_iter_json_rows", "json rows")
    wrap(files_module, "_read_parquet", "parquet rows")
    wrap(files_module, "count_rows", "count rows")
    wrap(store_module, "count_rows", "count rows")
    wrap(store_module.SeedStore, "read", "seed store")

    def no_hub(*args: Any, **kwargs: Any) -> Any:
        reads.append(f"hub({args[0] if args else ''})")
        from tsqa.seeds.errors import SeedError

        raise SeedError("offline test: the hub is not reachable")

    monkeypatch.setattr(hub_module, "read_hub_split", no_hub)
    monkeypatch.setattr(load_module, "read_hub_split", no_hub)
    try:
        import datasets

        monkeypatch.setattr(datasets, "load_dataset", no_hub)
    except ImportError:  # pragma: no cover
        pass
