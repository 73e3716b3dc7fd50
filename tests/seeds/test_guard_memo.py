"""Guard verdicts remembered within one plan: each seed file is guarded once while it stays the
same file, again as soon as it changes, and never remembered as refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tsqa.seeds import guard, guard_memo
from tsqa.seeds.errors import EvalSplitRefused
from tsqa.seeds.guard_memo import guard_path, remembering, roots_around


@pytest.fixture
def guard_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths the full guard ran on."""
    calls: list[Path] = []
    real_guard = guard.guard_path

    def counted(task: str, path: Path, roots: Any) -> Path:
        calls.append(path)
        return real_guard(task, path, roots)

    monkeypatch.setattr(guard, "guard_path", counted)
    return calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"q": 1}\n')
    (tmp_path / "data" / "other.jsonl").write_text('{"q": 2}\n')
    (tmp_path / "test_split").mkdir()
    (tmp_path / "test_split" / "x.jsonl").write_text('{"q": 3}\n')
    return tmp_path


def test_guarded_once_within_a_plan_and_every_time_outside(project: Path, guard_calls: list[Path]) -> None:
    seed = project / "data" / "train.jsonl"
    roots = roots_around(project)
    guard_path("t", seed, roots)
    guard_path("t", seed, roots)
    assert len(guard_calls) == 2  # outside remembering(): the full guard each time
    with remembering():
        assert guard_path("t", seed, roots_around(project)) == seed.resolve()
        assert guard_path("t", seed, roots_around(project)) == seed.resolve()
        assert roots_around(project) is roots_around(project)
    assert len(guard_calls) == 3
    guard_path("t", seed, roots)
    assert len(guard_calls) == 4  # the block ended: nothing is remembered


def test_a_file_swapped_for_a_link_to_eval_data_is_guarded_again(project: Path, guard_calls: list[Path]) -> None:
    seed = project / "data" / "train.jsonl"
    with remembering():
        roots = roots_around(project)
        guard_path("t", seed, roots)
        seed.unlink()
        seed.symlink_to(project / "test_split" / "x.jsonl")
        with pytest.raises(EvalSplitRefused, match="test"):
            guard_path("t", seed, roots)
    assert len(guard_calls) == 2


def test_a_file_rewritten_or_hard_linked_is_guarded_again(project: Path, guard_calls: list[Path]) -> None:
    seed = project / "data" / "train.jsonl"
    with remembering():
        roots = roots_around(project)
        guard_path("t", seed, roots)
        seed.write_text('{"q": 1}\n{"q": 4}\n')
        guard_path("t", seed, roots)
        assert len(guard_calls) == 2
        os.link(seed, project / "test_split" / "copy.jsonl")  # the same data under an eval name
        with pytest.raises(EvalSplitRefused, match="hard link"):
            guard_path("t", seed, roots)


def test_refusals_are_never_remembered(project: Path, guard_calls: list[Path]) -> None:
    bad = project / "test_split" / "x.jsonl"
    with remembering():
        roots = roots_around(project)
        for task in ("a", "b"):
            with pytest.raises(EvalSplitRefused, match=f"task '{task}'"):
                guard_path(task, bad, roots)
    assert len(guard_calls) == 2


def test_other_roots_are_other_verdicts(project: Path, guard_calls: list[Path]) -> None:
    seed = project / "data" / "train.jsonl"
    with remembering():
        guard_path("t", seed, roots_around(project))
        guard_path("t", seed, roots_around(project / "data"))
        guard_path("t", seed, guard.SeedRoots(roots_around(project).roots, eval_files=(project / "e.jsonl",)))
    assert len(guard_calls) == 3
    assert guard_memo._verdicts is None
