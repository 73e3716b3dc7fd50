"""Class: a path in a spec that reads the machine instead of the project. A prompt file
(`prompt: {file: …}`, in a spec or in tsqa.yaml's defaults) and a declared eval file
(`decontaminate.eval_files`) are held to the rules of seed paths: resolved with symlinks followed,
inside the project (or a `seed_roots:` root), never through /proc, /dev or /sys, a regular file
(prompts: at most 256 KiB of UTF-8). Lint refuses them with the position; nothing below lint opens
them (the compiler reads prompt files through the same check)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

SEED = "seed: {files: ../data/train.jsonl, license: mit}\n"
DATA = {"data/train.jsonl": TRAIN_ROWS}


def prompt_attack(file: str, **kw: object) -> Attack:
    files = {**DATA, **kw.pop("files", {})}  # type: ignore[dict-item]
    return Attack(
        f"task: attack\nformat: short_answer\n{SEED}generate: {{prompt: {{file: '{file}'}}}}\n",
        files,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


PROMPT_PATHS = {
    "environment of the process": prompt_attack("/proc/self/environ"),
    "environment through thread-self": prompt_attack("/proc/thread-self/environ"),
    "root of the process": prompt_attack(
        "/proc/self/root{ROOT}/specs/ok.j2", files={"specs/ok.j2": "Hi {{ question }}"}
    ),
    "command line": prompt_attack("/proc/self/cmdline"),
    "dot-dot to passwd": prompt_attack("../../../../../../../../../../etc/passwd"),
    "absolute passwd": prompt_attack("/etc/passwd"),
    "endless device": prompt_attack("/dev/zero"),
    "random device": prompt_attack("/dev/urandom"),
    "stdin": prompt_attack("/dev/stdin"),
    "sysfs": prompt_attack("/sys/kernel/mm/transparent_hugepage/enabled"),
    "outside file": prompt_attack("{OUTSIDE}/p.j2", outside={"p.j2": "Write {{ question }}"}),
    "dot-dot outside file": prompt_attack("../../elsewhere/p.j2", outside={"p.j2": "Write {{ question }}"}),
    "link to passwd": prompt_attack("p.j2", links={"specs/p.j2": "/etc/passwd"}),
    "link to environ": prompt_attack("p.j2", links={"specs/p.j2": "/proc/self/environ"}),
    "link to zero": prompt_attack("p.j2", links={"specs/p.j2": "/dev/zero"}),
    "folder link out": prompt_attack(
        "lnk/p.j2", outside={"p.j2": "Write {{ question }}"}, links={"specs/lnk": "{OUTSIDE}"}
    ),
    "folder link to proc": prompt_attack("lnk/environ", links={"specs/lnk": "/proc/self"}),
    "a folder": prompt_attack("prompts", files={"specs/prompts/x.j2": "x"}),
    "too large": prompt_attack("p.j2", files={"specs/p.j2": "{{ question }} " + "x" * 300_000}),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", PROMPT_PATHS.values(), ids=PROMPT_PATHS.keys())
def test_prompt_file_paths_are_refused(ws: Workspace, attack: Attack, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _spy_opens(monkeypatch)
    ws.build(attack)
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "prompt-file-unsafe" in result.output, result.output
        assert "attack.yaml:4:" in result.output, result.output
    assert not [p for p in opened if p.startswith(("/proc", "/dev", "/sys", "/etc"))], opened


def test_prompt_file_in_project_defaults(ws: Workspace) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\n{SEED}",
            DATA,
            project="defaults: {generate: {prompt: {file: /proc/self/environ}}}\n",
        )
    )
    result = ws.lint()
    ws.assert_refused(result)
    assert "tsqa.yaml:" in result.output and "prompt-file-unsafe" in result.output, result.output


def test_a_fifo_prompt_is_not_opened(ws: Workspace) -> None:
    ws.build(prompt_attack("p.j2"))
    os.mkfifo(ws.root / "specs" / "p.j2")
    for result in (ws.lint(), ws.plan()):
        ws.assert_refused(result)
        assert "not a regular file" in result.output, result.output


def test_a_prompt_that_is_not_utf8(ws: Workspace) -> None:
    ws.build(prompt_attack("p.j2"))
    (ws.root / "specs" / "p.j2").write_bytes(b"caf\xe9 {{ question }}")
    for result in (ws.lint(), ws.plan()):
        ws.assert_refused(result)
        assert "not UTF-8" in result.output, result.output


def test_below_lint_the_compiler_refuses_too(ws: Workspace) -> None:
    """resolve_prompt_text (what plan's compiler calls) never opens a refused path."""
    from tsqa.prompts import PromptNotFound, resolve_prompt_text
    from tsqa.spec.models.prompts import PromptFile

    ws.build(prompt_attack("p.j2"))
    for file in ("/proc/self/environ", "/dev/zero", "../../../../../../../etc/passwd", "/etc/passwd"):
        with pytest.raises(PromptNotFound):
            resolve_prompt_text(PromptFile(file=file), ws.spec.parent)


def test_a_prompt_inside_the_project_is_read(ws: Workspace) -> None:
    """The control case: a prompt file beside the spec (or in a linked folder of the project)."""
    from tsqa.spec.prompt_files import read_prompt_file

    ws.build(prompt_attack("../prompts/p.j2", files={"prompts/p.j2": "Write one like {{ question }}"}))
    (ws.root / "specs" / "lnk").symlink_to(ws.root / "prompts")
    assert read_prompt_file("../prompts/p.j2", ws.spec.parent) == "Write one like {{ question }}"
    assert read_prompt_file("lnk/p.j2", ws.spec.parent) == "Write one like {{ question }}"
    result = ws.lint()
    assert "prompt-file-unsafe" not in result.output, result.output


def test_a_declared_seed_root_allows_prompts_there(ws: Workspace) -> None:
    from tsqa.spec.prompt_files import read_prompt_file

    ws.build(
        prompt_attack(
            "{OUTSIDE}/shared/p.j2",
            outside={"shared/p.j2": "Write {{ question }}"},
            project="seed_roots: ['{OUTSIDE}/shared']\n",
        )
    )
    assert read_prompt_file(str(ws.outside / "shared" / "p.j2"), ws.spec.parent) == "Write {{ question }}"


EVAL_FILES = {
    "endless device": "/dev/zero",
    "environment": "/proc/self/environ",
    "root of the process": "/proc/self/root/etc/passwd",
    "outside the project": "../../../../../../../etc/passwd",
    "sysfs": "/sys/kernel/mm/transparent_hugepage/enabled",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", EVAL_FILES.values(), ids=EVAL_FILES.keys())
def test_eval_file_paths_are_refused(ws: Workspace, path: str) -> None:
    ws.build(
        Attack(
            f"task: attack\nformat: short_answer\n{SEED}decontaminate: {{eval_files: ['{path}']}}\n",
            DATA,
        )
    )
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
        assert "eval-file-unsafe" in result.output and "attack.yaml:4:" in result.output, result.output


def _spy_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths opened through os.open / io.open during the run (system paths must not be)."""
    import builtins
    import io

    opened: list[str] = []
    real_open, real_os_open, real_io_open = builtins.open, os.open, io.open

    def spy_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str | Path):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def spy_os_open(path: object, *args: object, **kwargs: object) -> int:
        if isinstance(path, str | Path):
            opened.append(str(path))
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(io, "open", spy_open)
    _ = real_io_open
    return opened
