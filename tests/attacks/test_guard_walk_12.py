"""Class: eval data reached by where a path leads, through the guard's walk on path texts (branch
s12). `guard_path` must accept, refuse and word its refusal exactly as the pathlib guard of main
did, on random trees of symlinks (relative and absolute, `//` anchors, trailing slashes, `.` and
`..` parts, links into /proc, /dev and /sys, eval-named and look-alike folders, unicode names),
queried by random paths written relative and absolute. The oracle below is main's `guard_path`
and `SeedRoots.root_of`, on pathlib objects."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path, PurePath

import pytest

from tsqa.seeds import guard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seeds"))
from test_guard_text import _pathlib_steps, _pathlib_system_path  # main's pathlib walk, the oracle

NAMES = ["data", "train", "test", "valid", "é", "tеst", "x.jsonl", "sub", "..", ".", "", "dev.jsonl", "a b"]
LINKS = ["l1", "l2", "train.jsonl", "test", "ln.jsonl", "é.jsonl", "dev"]


def _root_of(roots: guard.SeedRoots, real: Path) -> Path | None:
    for root in sorted(roots.roots, key=lambda r: -len(r.parts)):
        if real == root or real.is_relative_to(root):
            return root
    return None


def _pathlib_guard_path(task: str, path: Path, roots: guard.SeedRoots) -> Path:
    """main's `guard_path`."""
    if (step := _pathlib_system_path(path)) is not None:
        raise guard.SeedPathRefused(
            f"task {task!r}: {path} goes through {step}, a system path (/proc, /dev, /sys): never data"
        )
    hops = [Path(os.path.abspath(path))]
    current = hops[0]
    for _ in range(guard._MAX_LINK_HOPS):
        if not current.is_symlink():
            break
        target = Path(os.readlink(current))
        current = Path(os.path.abspath(current.parent / target))
        hops.append(current)
    real = Path(os.path.realpath(path))
    for hop in hops:
        parent = Path(os.path.realpath(hop.parent))
        root = _root_of(roots, parent)
        if root is not None:
            guard.check_name_parts(task, PurePath(parent.relative_to(root) / hop.name))
    root = _root_of(roots, real)
    if root is None:
        raise guard.SeedPathRefused(
            f"task {task!r}: {path} resolves to {real}, outside the project and the data dir; "
            "seed data must live inside them (or under a root listed in tsqa.yaml `seed_roots:`)"
        )
    guard.check_name_parts(task, PurePath(real.relative_to(root)))
    for declared, name in roots.names:
        if declared == root or real.is_relative_to(declared):
            guard.check_name_parts(task, name)
    guard._check_hard_links(task, real, roots)
    guard.check_not_eval_file(task, real, roots.eval_files)
    return real


def _outcome(call: object, *args: object) -> tuple[str, str]:
    try:
        return "ok", str(call(*args))  # type: ignore[operator]
    except Exception as exc:  # the kind and the words are what is compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("seed", range(4))
def test_guard_path_on_texts_decides_and_words_as_pathlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    proj = tmp_path / "proj"
    (proj / "specs").mkdir(parents=True)
    (proj / "tsqa.yaml").write_text("version: 1\n")
    out = tmp_path / "out"
    beside = tmp_path / "projx"  # outside every root, its name starting with the project's
    dirs = [proj, proj / "data", proj / "data" / "sub", proj / "test", out, proj / "é", beside]
    for d in dirs:
        d.mkdir(exist_ok=True)
        for name in ("train.jsonl", "test.jsonl"):
            (d / name).write_text("{}\n")
    os.link(proj / "test" / "test.jsonl", proj / "data" / "hard.jsonl")

    def target() -> str:
        k = rng.random()
        tail = "/".join(rng.choice(NAMES) for _ in range(rng.randint(0, 4)))
        if k < 0.2:
            return "//" + str(rng.choice(dirs)).lstrip("/") + "/" + tail
        if k < 0.35:
            return str(rng.choice(dirs)) + "/" + tail + rng.choice(["", "/", "/."])
        if k < 0.42:
            return rng.choice(["/proc/self/cwd", "/dev/fd/0", "//proc/self/root" + str(proj), "/sys/..", "/"])
        if k < 0.5:  # up past the filesystem's root, then into /proc
            return "../" * rng.randint(1, 12) + rng.choice(["proc/self/root", "dev", "sys/kernel", "tmp"])
        return (tail + rng.choice(["", "/", "/.", "//"])) or "."

    for _ in range(25):
        link = rng.choice(dirs) / rng.choice(LINKS)
        if not (link.exists() or link.is_symlink()):
            link.symlink_to(target())
    roots = guard.SeedRoots.around(proj / "specs", data_dir=out)
    monkeypatch.chdir(rng.choice(dirs))
    decided = set()
    for _ in range(300):
        written = "/".join(rng.choice(NAMES + LINKS + ["hard.jsonl"]) for _ in range(rng.randint(1, 5)))
        written += rng.choice(["", "/", "//", "/."])
        k = rng.random()
        if k < 0.4:
            written = str(rng.choice(dirs)) + "/" + written
        elif k < 0.5:
            written = "//" + str(rng.choice(dirs)).lstrip("/") + "/" + written
        path = Path(written)
        got = _outcome(guard.guard_path, "t", path, roots)
        assert got == _outcome(_pathlib_guard_path, "t", path, roots), written
        assert _outcome(guard.system_path, path) == _outcome(_pathlib_system_path, path), written
        assert _outcome(guard.resolve_steps, path) == _outcome(_pathlib_steps, path), written
        decided.add(got[0])
    assert {"ok", "EvalSplitRefused", "SeedPathRefused"} <= decided  # the trees reach every answer
