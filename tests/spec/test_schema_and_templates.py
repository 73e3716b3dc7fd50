"""JSON Schema export, the sandbox, and the built-in prompts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from jinja2.exceptions import SecurityError

from tsqa.cli import main
from tsqa.prompts import BUILTIN_PROMPTS, STAGE_VARIABLES, builtin_prompt_text
from tsqa.spec.schema import SCHEMA_FILES, json_schema
from tsqa.spec.templates import compile_template, template_variables
from tsqa.spec.yaml_source import load_yaml_file

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["project", "task"])
def test_committed_schema_is_current(kind: str) -> None:
    committed = json.loads((REPO / "schema" / SCHEMA_FILES[kind]).read_text())  # type: ignore[index]
    assert committed == json_schema(kind), "run `tsqa schema -o schema` and commit the result"  # type: ignore[arg-type]


def test_example_files_validate_against_the_json_schema() -> None:
    jsonschema.validate(load_yaml_file(REPO / "tsqa.yaml").data, json_schema("project"))
    for path in sorted((REPO / "specs").glob("*.yaml")):
        jsonschema.validate(load_yaml_file(path).data, json_schema("task"))
        assert path.read_text().startswith("# yaml-language-server: $schema=../schema/task.schema.json")


def test_json_schema_rejects_unknown_keys() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"task": "t", "seed": {"lm_eval": "x"}, "format": "free_form", "colour": 1}, json_schema("task")
        )


def test_schema_command_prints_both_kinds() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert set(json.loads(result.output)) == {"project", "task"}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ question.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_templates_cannot_reach_the_interpreter(text: str) -> None:
    with pytest.raises(SecurityError):
        compile_template(text).render(question="q", cycler=None)


def test_templates_cannot_mutate_data() -> None:
    doc = {"choices": ["a", "b"]}
    with pytest.raises(SecurityError):
        compile_template("{{ choices.append('c') }}").render(**doc)
    assert doc["choices"] == ["a", "b"]


@pytest.mark.parametrize("name", sorted(BUILTIN_PROMPTS))
def test_builtin_prompts_use_only_their_stage_variables(name: str) -> None:
    prompt = BUILTIN_PROMPTS[name]
    text = builtin_prompt_text(name)
    assert template_variables(text) <= STAGE_VARIABLES[prompt.stage]
    record = {
        "task": "arc_easy",
        "description": None,
        "format": "multiple_choice",
        "question": "Why is the sky blue?",
        "choices": ["scattering", "reflection"],
        "context": None,
        "answer": 0,
        "answer_text": "scattering",
        "per_seed": 2,
        "group": "knowledge",
        "variant": name,
    }
    rendered = compile_template(text).render(**{k: v for k, v in record.items() if k in STAGE_VARIABLES[prompt.stage]})
    assert "Why is the sky blue?" in rendered and "A. scattering" in rendered
    assert ("scattering\n" in rendered.replace("A. scattering", "")) == (prompt.stage != "solve")
