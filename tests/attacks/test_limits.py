"""Class: inputs built to crash the process or raise a traceback (attack9 findings 3 and 4): deep
nesting in a spec, a record or a template, numbers past Python's digit limit, lone surrogates, a
folder where a file is expected, overlong names. Each is a message naming the file (and line)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

FILES = "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit}\n"
ARC = "task: attack\nformat: multiple_choice\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\n"

DEEP_SPECS = {
    "flow 100k": "x: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "flow mappings 5k": "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "block 1000": "".join(" " * i + f"k{i}:\n" for i in range(1000)) + " " * 1000 + "v: 1\n",
}


@pytest.mark.parametrize("tail", DEEP_SPECS.values(), ids=DEEP_SPECS.keys())
@pytest.mark.parametrize("command", ["lint", "fetch"])
def test_deeply_nested_spec_is_a_message_not_a_crash(ws: Workspace, tail: str, command: str) -> None:
    ws.build(Attack(FILES + tail, {"data/train.jsonl": TRAIN_ROWS}))
    # In a subprocess: the libyaml crash was a SIGSEGV, which would take pytest down with it.
    args = [command] if command == "lint" else ["seeds", "fetch"]
    proc = subprocess.run(
        [sys.executable, "-m", "tsqa.cli", *args, str(ws.spec), "--project", str(ws.root / "tsqa.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "nested more than 64 levels" in out, out
    assert re.search(r"attack\.yaml:\d+:\d+: error", out), out


BAD_RECORDS = {
    "5000-digit int": ('{"question": "How many legs?", "answer": ' + "9" * 5000 + "}\n", "unusable JSON value"),
    "nested 100k": ('{"question": "q", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "nested more than 64"),
    "nested 500": ('{"question": "q", "x": ' + "[" * 500 + "]" * 500 + "}\n", "nested more than 64"),
    "lone surrogate": ('{"question": "How many \\ud800 legs?", "answer": "8"}\n', "lone surrogate"),
    "lone surrogate in a key": ('{"q\\uDFFF": "How many legs?", "answer": "8"}\n', "lone surrogate"),
}


@pytest.mark.parametrize(("line", "message"), BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_unusable_record_names_its_line(ws: Workspace, line: str, message: str) -> None:
    ws.build(Attack(FILES, {"data/train.jsonl": '{"question": "ok", "answer": "1"}\n' + line}))
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "train.jsonl:2: " in result.output and message in result.output, result.output


def test_folder_where_a_file_is_expected(ws: Workspace) -> None:
    ws.build(Attack(FILES, {"data/train.jsonl/x": "a"}))
    result = ws.fetch()
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "train.jsonl" in result.output and "not a regular file" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_overlong_folder_name_in_sources_json(ws: Workspace) -> None:
    ws.build(Attack(ARC, {"dd/sources.json": '{"allenai/ai2_arc:ARC-Easy": "' + "x" * 5000 + '"}'}))
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "sources.json" in result.output and "does not exist" in result.output, result.output


TEMPLATES = {
    "5000 parentheses": "'{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}'",
    "5000 brackets": "'{{ " + "[" * 5000 + "]" * 5000 + " }}'",
    "3000 filters": "'{{ question" + "|trim" * 3000 + " }}'",
}


@pytest.mark.parametrize("template", TEMPLATES.values(), ids=TEMPLATES.keys())
def test_deep_template_names_file_and_line(ws: Workspace, template: str) -> None:
    spec = FILES + f"fields:\n  question: {template}\n  answer: '{{{{ answer }}}}'\n"
    ws.build(Attack(spec, {"data/train.jsonl": TRAIN_ROWS}))
    result = ws.lint()
    assert result.exit_code == 1, result.output
    assert "internal-error" not in result.output and "RecursionError" not in result.output, result.output
    assert "attack.yaml:5:" in result.output, result.output
