"""The guard's path walk on texts (`guard._resolve_text`, `_contains`, `_below`) gives exactly what
pathlib gave: every step, the real path, the root and the name checked. The pathlib walk the guard
used before is kept here as the oracle."""

from __future__ import annotations

import os
import random
from pathlib import Path, PurePath

import pytest

from tsqa.seeds import guard
from tsqa.seeds.errors import SeedPathRefused


def _pathlib_steps(path: Path | str) -> tuple[Path, list[Path]]:
    """`resolve_steps` as it was written with pathlib objects (before the text walk)."""
    start = Path(path) if os.path.isabs(path) else Path(os.getcwd()) / path
    stack = list(reversed(start.parts[1:]))
    current = Path(start.anchor or "/")
    visited: list[Path] = [start]
    hops = 0
    while stack:
        part = stack.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            visited.append(current)
            continue
        candidate = current / part
        visited.append(candidate)
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise SeedPathRefused(f"{path}: too many symbolic links (a loop?)")
            target = Path(os.readlink(candidate))
            visited.append(target if target.is_absolute() else current / target)
            if target.is_absolute():
                current = Path(target.anchor)
            stack.extend(reversed([p for p in target.parts if p != target.anchor]))
        else:
            current = candidate
    return current, visited


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "other").mkdir()
    (root / "data" / "train.jsonl").write_text("{}\n")
    (root / "data" / "sub" / "part.jsonl").write_text("{}\n")
    links = {
        "data/rel.jsonl": "train.jsonl",
        "data/up.jsonl": "../data/./sub//part.jsonl",
        "data/abs.jsonl": str(root / "data" / "train.jsonl"),
        "data/dirlink": "sub",
        "data/absdir": str(root / "other") + "/",
        "data/chain1": "chain2",
        "data/chain2": "dirlink/part.jsonl",
        "data/loop1": "loop2",
        "data/loop2": "loop1",
        "data/dangling": "nowhere/else",
        "data/slashes": "//" + str(root / "data").lstrip("/") + "/train.jsonl",
        "data/root": "/",
        "other/back": "../data/dirlink/..",
    }
    for name, target in links.items():
        (root / name).symlink_to(target)
    monkeypatch.chdir(root)
    return root


WRITTEN = [
    "data/train.jsonl",
    "./data/./train.jsonl",
    "data//sub/part.jsonl/",
    "data/rel.jsonl",
    "data/up.jsonl",
    "data/abs.jsonl",
    "data/dirlink/part.jsonl",
    "data/absdir/../data/train.jsonl",
    "data/chain1",
    "data/dangling",
    "data/slashes",
    "data/root/proc/self",
    "other/back/train.jsonl",
    "../proj/data/../data/rel.jsonl",
    "",
    ".",
    "..",
    "/",
    "//",
    "///",
    "//proc/self/root",
    "/../..//x",
]


def test_each_walk_matches_the_pathlib_walk(tree: Path) -> None:
    absolute = [str(tree / w) for w in WRITTEN if w and not w.startswith("/")]
    for written in [*WRITTEN, *absolute, *(Path(w) for w in WRITTEN)]:
        real, visited = guard.resolve_steps(written)  # type: ignore[arg-type]
        assert (real, visited) == _pathlib_steps(written), written
        assert [str(v) for v in visited] == guard._resolve_text(written)[1], written
        assert guard.system_path(written) == _pathlib_system_path(written), written  # type: ignore[arg-type]


def test_a_loop_is_refused_both_ways(tree: Path) -> None:
    for written in ("data/loop1", "data/loop2/x"):
        with pytest.raises(SeedPathRefused, match="too many symbolic links"):
            _pathlib_steps(written)
        with pytest.raises(SeedPathRefused, match="too many symbolic links"):
            guard.resolve_steps(Path(written))


def _pathlib_system_path(path: Path | str) -> Path | None:
    try:
        real, visited = _pathlib_steps(path)
    except OSError:
        return Path(path)
    for step in [*visited, real]:
        normal = os.path.normpath(step)
        if normal.startswith("//"):
            normal = "/" + normal.lstrip("/")
        if any(normal == r or normal.startswith(r + "/") for r in ("/proc", "/dev", "/sys")):
            return step
    return None


def test_containment_and_relative_texts_match_pathlib() -> None:
    rng = random.Random(7)
    names = ["a", "ab", "b", "a.b", "..", "x"]
    texts = {"/", "//"}
    for _ in range(400):
        parts = [rng.choice(names) for _ in range(rng.randint(0, 4)) if True]
        texts.add(rng.choice(["/", "//"]) + "/".join(p for p in parts if p != ".."))
    texts_list = sorted(texts)
    for root in texts_list:
        for real in texts_list:
            expected = Path(real) == Path(root) or Path(real).is_relative_to(root)
            assert guard._contains(root, real) == expected, (root, real)
            if expected:
                assert PurePath(guard._below(real, root)) == Path(real).relative_to(root), (root, real)


def test_roots_give_the_deepest_holding_root(tmp_path: Path) -> None:
    outer = tmp_path / "p"
    inner = outer / "data"
    inner.mkdir(parents=True)
    roots = guard.SeedRoots((outer.resolve(), inner.resolve(), Path("/")))
    assert roots.root_of((inner / "x.jsonl").resolve()) == inner.resolve()
    assert roots.root_of((outer / "y.jsonl").resolve()) == outer.resolve()
    assert roots.root_of(Path("/etc/passwd")) == Path("/")
    assert guard.SeedRoots((outer.resolve(),)).root_of(Path("/etc/passwd")) is None
