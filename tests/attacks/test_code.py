"""Class: code from a spec. Any string in a spec or the project file that would make tsqa, lm-eval,
a YAML loader or Jinja import or run code is refused by lint, by fetch and by plan (which lint
first), and nothing below lint runs it either (normalise refuses it on its own)."""

from __future__ import annotations

import pytest
from attack_helpers import TRAIN_ROWS, Attack, Workspace

SEED = "seed: {files: ../data/train.jsonl, license: mit}\n"
DATA = {"data/train.jsonl": TRAIN_ROWS}


def field_attack(value: str, field: str = "question", fmt: str = "short_answer") -> Attack:
    return Attack(f"task: attack\nformat: {fmt}\n{SEED}fields:\n  {field}: {value}\n", DATA)


FIELD_VALUES = {
    "absolute path": '"!function {ROOT}/evil.run"',
    "relative to lm-eval tasks": '"!function {FROM_TASKS}/evil.run"',
    "dot-dot from tasks": '"!function ../../../../../../../../../../{ROOT}/evil.run"',
    "bare module": '"!function evil.run"',
    "leading spaces": '"   !function evil.run"',
    "upper case": '"!FUNCTION evil.run"',
    "tab separated": '"!function\\tevil.run"',
    "no space": '"!functionevil.run"',
    "space after bang": '"! function evil.run"',
    "fullwidth letters": '"!ｆｕｎｃｔｉｏｎ evil.run"',
    "zero-width space inside": '"!func\\u200btion evil.run"',
    "cyrillic i": '"!functіon evil.run"',
    "embedded in text": '"Q: !function evil.run"',
    "python object tag as text": "\"!!python/object/apply:os.system ['touch x']\"",
    "python name tag as text": '"!!python/name:evil.run"',
    "yaml python tag uri": '"tag:yaml.org,2002:python/object/apply:os.system"',
    "sandbox escape mro": "\"{{ ''.__class__.__mro__[1].__subclasses__() }}\"",
    "sandbox escape globals": "\"{{ cycler.__init__.__globals__.os.popen('id').read() }}\"",
    "sandbox escape self": '"{{ self.__init__.__globals__ }}"',
    "sandbox escape import": "\"{{ __import__('os').system('id') }}\"",
    "jinja include": "\"{% include '{ROOT}/evil.py' %}\"",
    "jinja import": "\"{% import 'evil.py' as e %}{{ e.run() }}\"",
    "jinja from import": "\"{% from 'evil.py' import run %}{{ run() }}\"",
    "jinja extends": "\"{% extends 'evil.py' %}\"",
    "jinja recursive loop": '"{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}"',
}

OTHER_PLACES = {
    "answer field": field_attack('"!function evil.run"', "answer"),
    "context field": field_attack('"!function evil.run"', "context"),
    "choices field": Attack(
        "task: attack\nformat: multiple_choice\nseed: {files: ../data/mc.jsonl, license: mit}\n"
        'fields: {question: "{{ q }}", choices: "!function evil.run", answer: "{{ a }}"}\n',
        {"data/mc.jsonl": '{"q": "Pick one of these two options", "a": 0}\n'},
    ),
    "generate prompt inline": Attack(
        f'task: attack\nformat: short_answer\n{SEED}generate: {{prompt: {{inline: "!function evil.run"}}}}\n', DATA
    ),
    "project defaults": Attack(
        f"task: attack\nformat: short_answer\n{SEED}",
        DATA,
        project='defaults: {generate: {prompt: {inline: "!function evil.run"}}}\n',
    ),
    "seed columns": Attack(
        'task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit, columns: ["!function evil.run"]}\n',
        DATA,
    ),
    "seed files": Attack(
        "task: attack\nformat: short_answer\nseed: {files: '!function evil.run', license: mit}\n", DATA
    ),
    "hf path": Attack("task: attack\nformat: short_answer\nseed: {hf: {path: '!function evil.run'}, license: mit}\n"),
    "licence text": Attack(
        "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: '!function evil.run'}\n", DATA
    ),
    "project name key": Attack(
        f"task: attack\nformat: short_answer\n{SEED}", DATA, project="specs: ['!function evil.run']\n"
    ),
}

CASES = {**{f"fields.question: {k}": field_attack(v) for k, v in FIELD_VALUES.items()}, **OTHER_PLACES}


@pytest.mark.parametrize("attack", CASES.values(), ids=CASES.keys())
def test_code_in_a_spec_is_refused_everywhere(ws: Workspace, attack: Attack) -> None:
    ws.build(attack)
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)


@pytest.mark.parametrize("value", FIELD_VALUES.values(), ids=FIELD_VALUES.keys())
def test_below_lint_normalise_never_imports_spec_code(ws: Workspace, value: str) -> None:
    """Called directly, as if lint had been skipped: the spec's `!function` is refused, a sandbox
    escape fails its record, and the attack module is never imported."""
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.normalise import normalise
    from tsqa.spec.load import load_project, load_spec

    ws.build(field_attack(value))
    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, diags = load_spec(ws.spec, project)
    assert loaded is not None, diags
    docs = [{"question": "How many legs does a spider have?", "answer": "8"}]
    try:
        result = normalise(loaded.spec, None, docs)
    except SeedError:
        pass
    else:
        assert result.records == [] or all("!function" not in r.question for r in result.records)
    assert not ws.marker.exists()


def test_a_catalogue_reference_outside_lm_eval_tasks_is_never_imported(ws: Workspace) -> None:
    """Task functions come from lm-eval's own task modules only: a reference that leaves the tasks
    folder (absolute, `..`) is refused before import, even from the catalogue."""
    from tsqa.seeds.functions import FunctionImportError, import_function

    ws.build(field_attack('"{{ question }}"'))
    refs = [
        f"!function {ws.root}/evil.run",
        "!function ../../../../../../../../../../../../" + str(ws.root).lstrip("/") + "/evil.run",
        "!function arc/../../../../../../../../../../../../" + str(ws.root).lstrip("/") + "/evil.run",
        "!function ./evil.run",
        "!function not_a_module.run",
    ]
    for ref in refs:
        with pytest.raises(FunctionImportError):
            import_function(ref)
    assert not ws.marker.exists()


def test_a_symlink_out_of_lm_eval_tasks_is_refused(ws: Workspace, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tsqa.seeds import functions

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "utils.py").symlink_to(ws.root / "evil.py")
    monkeypatch.setattr(functions, "tasks_root", lambda: tasks.resolve())
    functions.import_function.cache_clear()
    with pytest.raises(functions.FunctionImportError, match="not a module of lm-eval's tasks"):
        functions.import_function("!function utils.run")
    functions.import_function.cache_clear()
    assert not ws.marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "!function evil.run",
        "{{ ''.__class__.__mro__ }}",
        "{% include 'evil.py' %}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_code_in_a_prompt_file(ws: Workspace, text: str) -> None:
    attack = Attack(
        f"task: attack\nformat: short_answer\n{SEED}generate: {{prompt: {{file: p.j2}}}}\n",
        {**DATA, "specs/p.j2": "Write a question like {{ question }}. " + text},
    )
    ws.build(attack)
    for result in (ws.lint(), ws.fetch(), ws.plan()):
        ws.assert_refused(result)
