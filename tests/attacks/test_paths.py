"""Class: eval data reached by where a path leads. Symlinks (files, folders, chains, in the data dir
and in local dataset folders), paths out of the project, `sources.json` entries and `hf: {path:
./folder}` folders: the guard checks the resolved real path, every component, inside the allowed
roots, before a row is read."""

from __future__ import annotations

import pytest
from attack_helpers import EVAL_ROWS, TRAIN_ROWS, Attack, Workspace

FILES_SEED = "task: attack\nformat: short_answer\nseed: {{files: {path}, license: mit}}\n"


def files_attack(path: str, **kw: object) -> Attack:
    return Attack(FILES_SEED.format(path=path), **kw)  # type: ignore[arg-type]


SYMLINKS = {
    "file link to eval file in project": files_attack(
        "../data/train.jsonl", files={"eval/test.jsonl": EVAL_ROWS}, links={"data/train.jsonl": "../eval/test.jsonl"}
    ),
    "file link to eval-named file beside it": files_attack(
        "../data/train.jsonl",
        files={"data/validation.jsonl": EVAL_ROWS},
        links={"data/train.jsonl": "validation.jsonl"},
    ),
    "absolute file link out of the project": files_attack(
        "../data/train.jsonl", outside={"train.jsonl": EVAL_ROWS}, links={"data/train.jsonl": "{OUTSIDE}/train.jsonl"}
    ),
    "folder link to eval folder": files_attack(
        "../data/train/part.jsonl", files={"heldout/part.jsonl": EVAL_ROWS}, links={"data/train": "../heldout"}
    ),
    "folder link out of the project": files_attack(
        "../data/train/part.jsonl", outside={"x/part.jsonl": EVAL_ROWS}, links={"data/train": "{OUTSIDE}/x"}
    ),
    "chain of links through an eval name": files_attack(
        "../data/train.jsonl",
        files={"data/store/blob.jsonl": EVAL_ROWS},
        links={"data/train.jsonl": "dev.jsonl", "data/dev.jsonl": "store/blob.jsonl"},
    ),
    "glob matching a link": files_attack(
        "../data/*.jsonl", files={"eval/a.jsonl": EVAL_ROWS}, links={"data/train.jsonl": "../eval/a.jsonl"}
    ),
    "link with look-alike eval name": files_attack(
        "../data/train.jsonl", files={"tеst/a.jsonl": EVAL_ROWS}, links={"data/train.jsonl": "../tеst/a.jsonl"}
    ),
    "relative link climbing out": files_attack(
        "../data/train.jsonl",
        outside={"train.jsonl": EVAL_ROWS},
        links={"data/train.jsonl": "../../elsewhere/train.jsonl"},
    ),
    "hf local folder train link": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: ../local}, license: mit}\n",
        files={"local/test.jsonl": EVAL_ROWS},
        links={"local/train.jsonl": "test.jsonl"},
    ),
    "hf local folder is a link to an eval folder": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: ../local}, license: mit}\n",
        files={"evaluation/train.jsonl": EVAL_ROWS},
        links={"local": "evaluation"},
    ),
}

OUTSIDE = {
    "dot-dot out of the project": files_attack("../../elsewhere/train.jsonl", outside={"train.jsonl": TRAIN_ROWS}),
    "absolute path elsewhere": files_attack("{OUTSIDE}/train.jsonl", outside={"train.jsonl": TRAIN_ROWS}),
    "glob out of the project": files_attack("../../elsewhere/*.jsonl", outside={"train.jsonl": TRAIN_ROWS}),
    "hf local folder elsewhere": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: ../../elsewhere/local}, license: mit}\n",
        outside={"local/train.jsonl": TRAIN_ROWS},
    ),
    "hf absolute folder elsewhere": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: '{OUTSIDE}/local'}, license: mit}\n",
        outside={"local/train.jsonl": TRAIN_ROWS},
    ),
    "allowed root does not cover the file": files_attack(
        "../../elsewhere/other/train.jsonl",
        outside={"other/train.jsonl": TRAIN_ROWS, "allowed/x.jsonl": TRAIN_ROWS},
        project="seed_roots: ['{OUTSIDE}/allowed']\n",
    ),
    "allowed root, eval folder inside it": files_attack(
        "../../elsewhere/allowed/test/train.jsonl",
        outside={"allowed/test/train.jsonl": TRAIN_ROWS},
        project="seed_roots: ['{OUTSIDE}/allowed']\n",
    ),
    "hf local eval-named folder": Attack(
        "task: attack\nformat: short_answer\nseed: {hf: {path: ../test_data}, license: mit}\n",
        files={"test_data/train.jsonl": TRAIN_ROWS},
    ),
}


@pytest.mark.parametrize("attack", [*SYMLINKS.values(), *OUTSIDE.values()], ids=[*SYMLINKS, *OUTSIDE])
def test_paths_that_lead_to_eval_data(ws: Workspace, attack: Attack) -> None:
    ws.build(attack)
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


def test_an_allowed_root_is_allowed(ws: Workspace) -> None:
    """The explicit way out of the project: `seed_roots:` in tsqa.yaml (control case)."""
    ws.build(
        files_attack(
            "../../elsewhere/allowed/train.jsonl",
            outside={"allowed/train.jsonl": TRAIN_ROWS},
            project="seed_roots: ['{OUTSIDE}/allowed']\n",
        )
    )
    assert ws.lint().exit_code == 0
    result = ws.fetch()
    assert result.exit_code == 0, result.output


# -- the local data dir (`--data-dir`): lm-eval and hub seeds read local copies ------------------
ARC = "task: attack\nformat: multiple_choice\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\n"
ARC_TRAIN = (
    '{"id": "t1", "question": "Which of these is a mammal that lives in the ocean?", '
    '"choices": {"text": ["shark", "whale", "tuna", "eel"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"}\n'
)
ARC_EVAL = (
    '{"id": "v1", "question": "Which part of a plant absorbs water from the soil around it?", '
    '"choices": {"text": ["leaf", "flower", "root", "stem"], "label": ["A", "B", "C", "D"]}, "answerKey": "C"}\n'
)
DATA_DIR = {
    "train file links to validation": (
        {"dd/allenai/ai2_arc/ARC-Easy/validation.jsonl": ARC_EVAL},
        {"dd/allenai/ai2_arc/ARC-Easy/train.jsonl": "validation.jsonl"},
    ),
    "dataset folder links to an eval folder": (
        {"dd/evalcopies/arc/train.jsonl": ARC_EVAL},
        {"dd/allenai/ai2_arc/ARC-Easy": "../../evalcopies/arc"},
    ),
    "dataset folder links out of the data dir": (
        {"stash/arc/train.jsonl": ARC_EVAL},
        {"dd/allenai/ai2_arc/ARC-Easy": "{ROOT}/../elsewhere/arc"},
    ),
    "sources.json points at an eval folder": (
        {"dd/sources.json": '{"allenai/ai2_arc:ARC-Easy": "heldout/arc"}', "dd/heldout/arc/train.jsonl": ARC_EVAL},
        {},
    ),
    "sources.json climbs out of the data dir": (
        {"dd/sources.json": '{"allenai/ai2_arc:ARC-Easy": "../../elsewhere/arc"}'},
        {},
    ),
    "sources.json is a link to another index": (
        {"dd/dev/sources.json": '{"allenai/ai2_arc:ARC-Easy": "arc"}', "dd/arc/train.jsonl": ARC_TRAIN},
        {"dd/sources.json": "dev/sources.json"},
    ),
    "hub-layout shard links to the test shard": (
        {"dd/allenai/ai2_arc/ARC-Easy/data/test-00000-of-00001.jsonl": ARC_EVAL},
        {"dd/allenai/ai2_arc/ARC-Easy/data/train-00000-of-00001.jsonl": "test-00000-of-00001.jsonl"},
    ),
}


@pytest.mark.parametrize(("files", "links"), DATA_DIR.values(), ids=DATA_DIR.keys())
def test_data_dir_paths_that_lead_to_eval_data(ws: Workspace, files: dict[str, str], links: dict[str, str]) -> None:
    outside = {k.removeprefix("stash/"): v for k, v in files.items() if k.startswith("stash/")}
    inside = {k: v for k, v in files.items() if not k.startswith("stash/")}
    ws.build(Attack(ARC, inside, links, outside=outside))
    ws.assert_refused(ws.fetch("--data-dir", str(ws.root / "dd")))


def test_data_dir_control_case_is_fetched(ws: Workspace) -> None:
    ws.build(Attack(ARC, {"dd/allenai/ai2_arc/ARC-Easy/train.jsonl": ARC_TRAIN}))
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 0, result.output
    assert "fetched" in result.output


def test_local_folder_readme_and_scripts_are_never_consulted(ws: Workspace) -> None:
    """A hub-style folder whose README maps `train` to the test file, with a loading script: tsqa
    reads `<split>.<ext>` files only, so there is no training file and nothing is imported."""
    readme = "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: test.jsonl\n---\n"
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {hf: {path: ../local}, license: mit}\n",
            files={
                "local/README.md": readme,
                "local/test.jsonl": EVAL_ROWS,
                "local/local.py": "import pathlib\npathlib.Path('{MARKER}').write_text('x')\n",
            },
        )
    )
    result = ws.fetch()
    assert result.exit_code == 1 and "no file for split 'train'" in result.output
    assert "Traceback" not in result.output and not ws.marker.exists()
    assert ws.reads == []


@pytest.mark.parametrize("name", ["eval_copies", "test", "heldout", "vаlidation"])
def test_a_data_dir_named_like_eval_data(ws: Workspace, name: str) -> None:
    """The data dir is a root, but its own name is checked too."""
    ws.build(Attack(ARC, {f"{name}/allenai/ai2_arc/ARC-Easy/train.jsonl": ARC_TRAIN}))
    ws.assert_refused(ws.fetch("--data-dir", str(ws.root / name)))


def test_a_seed_root_named_like_eval_data(ws: Workspace) -> None:
    ws.build(
        files_attack(
            "../../elsewhere/evaluation/train.jsonl",
            outside={"evaluation/train.jsonl": TRAIN_ROWS},
            project="seed_roots: ['{OUTSIDE}/evaluation']\n",
        )
    )
    ws.assert_refused(ws.lint())
    ws.assert_refused(ws.fetch())


@pytest.mark.timeout(60)
def test_a_fifo_named_like_training_data_is_not_opened(ws: Workspace) -> None:
    import os

    ws.build(files_attack("../data/train.jsonl"))
    (ws.root / "data").mkdir(exist_ok=True)
    os.mkfifo(ws.root / "data" / "train.jsonl")
    result = ws.fetch()
    assert result.exit_code == 1 and "is not a regular file" in result.output
    assert "Traceback" not in result.output and ws.reads == []


# attack9 lint-only gaps: what fetch refuses, lint names with file:line, without reading data.
WRITTEN = {
    "files ~": "{files: '~/x/train.jsonl', license: mit}",
    "files file URL": "{files: 'file:///etc/passwd', license: mit}",
    "files https URL": "{files: 'https://example.com/train.jsonl', license: mit}",
    "hf file URL": "{hf: {path: 'file:///tmp/data'}, license: mit}",
    "hf config absolute": "{hf: {path: json, name: /etc}, license: mit}",
    "hf config traversal": "{hf: {path: someone/quiz, name: ../../x}, license: mit}",
}


@pytest.mark.parametrize("seed", WRITTEN.values(), ids=WRITTEN.keys())
def test_written_paths_lint_refuses(ws: Workspace, seed: str) -> None:
    ws.build(Attack(f"task: attack\nformat: short_answer\nseed: {seed}\n"))
    result = ws.lint()
    ws.assert_refused(result)
    assert "seed-path-outside-project" in result.output, result.output


@pytest.mark.parametrize("name", ["eval_copies", "validation", "heldOut"])
def test_data_dir_env_named_like_eval_lint_refuses(ws: Workspace, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (ws.root / name).mkdir()
    monkeypatch.setenv("TSQA_SEED_DATA_DIR", str(ws.root / name))
    ws.build(Attack(ARC))
    result = ws.lint()
    ws.assert_refused(result)
    assert "named like evaluation data" in result.output, result.output


@pytest.mark.parametrize(
    ("eval_path", "pattern"),
    [
        ("eval/test.jsonl", "../data/train.jsonl"),
        ("data/validation.jsonl", "../data/t*.jsonl"),
        ("dd/arc/ARC-Easy/validation.jsonl", "../data/train.jsonl"),
    ],
    ids=["undeclared eval folder", "glob", "data-dir split"],
)
def test_hard_link_to_eval_file(ws: Workspace, eval_path: str, pattern: str) -> None:
    """attack9 2e: a hard link has no target to resolve; its other names are checked instead."""
    import os

    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\nseed: {{files: '{pattern}', license: mit}}\n", {eval_path: EVAL_ROWS}
        )
    )
    (ws.root / "data").mkdir(exist_ok=True)
    (ws.root / "dd").mkdir(exist_ok=True)
    os.link(ws.root / eval_path, ws.root / "data" / "train.jsonl")
    ws.assert_refused(ws.lint())
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    ws.assert_refused(result)
    assert "hard link" in result.output, result.output
