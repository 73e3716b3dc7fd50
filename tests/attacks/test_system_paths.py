"""Class: paths that reach data through the machine rather than the project. Kernel and device trees
(/proc, /dev, /sys, and `/proc/self/root/…`, which leads back to any file) are never data; a hub id
that is also a local path (which `datasets` would load instead of the hub, README configs and
all); a seed file that is an eval file under another name (a hard link whose other names cannot
be checked, or the declared eval file itself); a seed snapshot that is a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from attack_helpers import EVAL_ROWS, TRAIN_ROWS, Attack, Workspace

FILES_SEED = "task: attack\nformat: short_answer\nseed: {{files: '{path}', license: mit}}\n"


def files_attack(path: str, **kw: object) -> Attack:
    return Attack(FILES_SEED.format(path=path), **kw)  # type: ignore[arg-type]


SYSTEM = {
    "proc self root back into the project": files_attack(
        "/proc/self/root{ROOT}/data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}
    ),
    "double slash proc self root": files_attack(
        "//proc/self/root{ROOT}/data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}
    ),
    "double slash proc with seed root slash": files_attack(
        "//proc/self/root{ROOT}/data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}, project="seed_roots: ['/']\n"
    ),
    "proc self cwd": files_attack("/proc/self/cwd/data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}),
    "proc fd": files_attack("/proc/self/fd/0"),
    "dev stdin": files_attack("/dev/stdin"),
    "dev zero": files_attack("/dev/zero"),
    "dev null": files_attack("/dev/null"),
    "sysfs": files_attack("/sys/kernel/mm/transparent_hugepage/enabled"),
    "glob in proc": files_attack("/proc/self/root{ROOT}/data/*.jsonl", files={"data/train.jsonl": TRAIN_ROWS}),
    "link into proc root": files_attack(
        "../data/train.jsonl",
        files={"eval/x.jsonl": EVAL_ROWS},
        links={"data/train.jsonl": "/proc/self/root{ROOT}/eval/x.jsonl"},
    ),
    "folder link to proc self root": files_attack(
        "../data/train.jsonl",
        files={"real/data/train.jsonl": TRAIN_ROWS},
        links={"data": "/proc/self/root{ROOT}/real/data"},
    ),
    "link to dev zero": files_attack("../data/train.jsonl", links={"data/train.jsonl": "/dev/zero"}),
    "seed root in proc": files_attack(
        "/proc/self/root{ROOT}/data/train.jsonl",
        files={"data/train.jsonl": TRAIN_ROWS},
        project="seed_roots: ['/proc']\n",
    ),
    "hf local folder through proc": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: '/proc/self/root{ROOT}/local'}, license: mit}\n",
        files={"local/train.jsonl": TRAIN_ROWS},
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", SYSTEM.values(), ids=SYSTEM.keys())
def test_system_paths_are_refused(ws: Workspace, attack: Attack) -> None:
    ws.build(attack)
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "attack.yaml:3:" in result.output, result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", ["/proc/self/root{ROOT}/dd", "/dev/shm/../../proc/self/root{ROOT}/dd"])
def test_a_data_dir_through_proc_is_refused(ws: Workspace, path: str) -> None:
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {hf: {path: allenai/ai2_arc, name: ARC-Easy}, license: mit}\n",
            files={"dd/allenai/ai2_arc/ARC-Easy/train.jsonl": TRAIN_ROWS},
        )
    )
    result = ws.fetch("--data-dir", path.replace("{ROOT}", str(ws.root)))
    ws.assert_refused(result)
    assert "system path" in result.output, result.output


def test_the_guard_refuses_system_paths_below_lint(ws: Workspace) -> None:
    from tsqa.seeds.errors import SeedPathRefused
    from tsqa.seeds.guard import SeedRoots, guard_path

    ws.build(files_attack("../data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}))
    roots = SeedRoots.around(ws.spec.parent)
    assert guard_path("t", ws.root / "data" / "train.jsonl", roots) == Path(
        os.path.realpath(ws.root / "data" / "train.jsonl")
    )
    for path in (f"/proc/self/root{ws.root}/data/train.jsonl", "/dev/zero", "/proc/self/environ"):
        with pytest.raises(SeedPathRefused, match="system path"):
            guard_path("t", Path(path), roots)


HUB_SHADOWS = {
    "folder of the id": ({"mydata/train.jsonl": EVAL_ROWS}, "mydata"),
    "folder with README split configs": (
        {
            "mydata/README.md": "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: test.jsonl\n---\n",
            "mydata/test.jsonl": EVAL_ROWS,
        },
        "mydata",
    ),
    "org/name folder": ({"someorg/somedata/train.jsonl": EVAL_ROWS}, "someorg/somedata"),
    "loading script": ({"mydata.py": "raise SystemExit('never run')\n"}, "mydata"),
}


@pytest.mark.parametrize(("files", "hub_id"), HUB_SHADOWS.values(), ids=HUB_SHADOWS.keys())
def test_a_hub_id_that_is_a_local_path(
    ws: Workspace, files: dict[str, str], hub_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`datasets` loads `./mydata` for `hf: {path: mydata}`: refused, wherever tsqa runs from."""
    ws.build(
        Attack(f"task: attack\nformat: short_answer\nseed: {{hf: {{path: {hub_id}}}, license: mit}}\n", files=files)
    )
    monkeypatch.chdir(ws.root)
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "hub-id-is-local-path" in result.output or "also the local path" in result.output, result.output
    assert "attack.yaml:3:" in ws.lint().output


def test_a_hub_id_local_path_is_refused_below_lint(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsqa.seeds.errors import SeedPathRefused

    monkeypatch.undo()  # the real reader, not the offline spy
    from tsqa.seeds.readers.hub import read_hub_split

    (ws.root / "mydata").mkdir()
    (ws.root / "mydata" / "train.jsonl").write_text(EVAL_ROWS)
    monkeypatch.chdir(ws.root)
    with pytest.raises(SeedPathRefused, match="also the local path"):
        read_hub_split("mydata", None, "train")


def test_a_dot_slash_local_folder_is_guarded_and_read(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control case: `./mydata` beside the spec is a local folder, every file guarded."""
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {hf: {path: ./mydata}, license: mit}\n",
            files={"specs/mydata/train.jsonl": TRAIN_ROWS},
        )
    )
    monkeypatch.chdir(ws.root)
    result = ws.fetch()
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("where", ["outside the project", "outside under an eval name"])
def test_a_hard_link_whose_other_name_is_outside(ws: Workspace, where: str) -> None:
    name = "test.jsonl" if "eval" in where else "blob.jsonl"
    ws.build(files_attack("../data/train.jsonl", outside={name: EVAL_ROWS}))
    (ws.root / "data").mkdir(exist_ok=True)
    os.link(ws.outside / name, ws.root / "data" / "train.jsonl")
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "hard link" in result.output, result.output


def test_a_hard_link_of_a_declared_eval_file(ws: Workspace) -> None:
    """Both names inside the project, neither named like eval data: the declared eval file is."""
    ws.build(
        Attack(
            FILES_SEED.format(path="../data/train.jsonl") + "decontaminate: {eval_files: [../held/back.jsonl]}\n",
            files={"held/back.jsonl": EVAL_ROWS},
        )
    )
    (ws.root / "data").mkdir(exist_ok=True)
    os.link(ws.root / "held" / "back.jsonl", ws.root / "data" / "train.jsonl")
    result = ws.fetch()
    ws.assert_refused(result)
    assert "is the eval file" in result.output, result.output


SNAPSHOT_LINKS = ["folder", "data file", "meta file", "hard-linked data file"]


@pytest.mark.parametrize("how", SNAPSHOT_LINKS)
def test_a_linked_snapshot_is_refused(ws: Workspace, how: str) -> None:
    import shutil

    ws.build(files_attack("../data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    [folder] = [p for p in (ws.root / ".tsqa" / "seeds").iterdir() if p.is_dir() and not p.name.startswith(".")]
    elsewhere = ws.outside / "snap"
    shutil.copytree(folder, elsewhere)
    if how == "folder":
        shutil.rmtree(folder)
        folder.symlink_to(elsewhere)
    elif how == "hard-linked data file":
        (folder / "data.parquet").unlink()
        os.link(elsewhere / "data.parquet", folder / "data.parquet")
    else:
        name = "data.parquet" if how == "data file" else "meta.json"
        (folder / name).unlink()
        (folder / name).symlink_to(elsewhere / name)
    ws.reads.clear()
    result = ws.plan()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "attack.yaml:3:" in result.output, result.output
    assert "link" in result.output or "not a plain file" in result.output, result.output


def test_a_meta_json_linked_to_dev_zero_is_not_read(ws: Workspace) -> None:
    ws.build(files_attack("../data/train.jsonl", files={"data/train.jsonl": TRAIN_ROWS}))
    assert ws.fetch().exit_code == 0
    [folder] = [p for p in (ws.root / ".tsqa" / "seeds").iterdir() if p.is_dir() and not p.name.startswith(".")]
    (folder / "meta.json").unlink()
    (folder / "meta.json").symlink_to("/dev/zero")
    result = ws.plan()
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
