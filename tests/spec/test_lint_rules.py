"""Every lint rule, on a spec that breaks it: the exact diagnostic (rule, file, line, column, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsqa.lint import Severity, lint_paths
from tsqa.lint.rules import RULES
from tsqa.lint.rules.base import LOAD_RULES

# file under fixtures/bad → (rule, line, col, field, words the message must contain)
CASES = {
    "yaml_syntax.yaml": ("yaml-syntax", 3, 7, "<root>", "expected ','"),
    "tabs.yaml": ("yaml-syntax", 3, 1, "<root>", "tab characters"),
    "binary.yaml": ("yaml-syntax", 1, 1, "<root>", "not UTF-8"),
    "duplicate_key.yaml": ("yaml-duplicate-key", 4, 1, "<root>", "duplicate key 'task' (first defined at line 1)"),
    "python_tag.yaml": ("yaml-tag", 1, 7, "<root>", "'!!python/object/apply:os.system' is not allowed"),
    "top_level_list.yaml": ("yaml-structure", 1, 1, "<root>", "found a list"),
    "empty.yaml": ("yaml-structure", 1, 1, "<root>", "found an empty file"),
    "unknown_field.yaml": (
        "schema",
        6,
        3,
        "generate.temprature",
        "unknown field 'temprature'; did you mean 'temperature'?",
    ),
    "wrong_type.yaml": ("schema", 5, 12, "verify.samples", "valid integer, found 'five'"),
    "missing_format.yaml": ("schema", 1, 1, "format", "required field is missing"),
    "two_seed_sources.yaml": ("schema", 2, 7, "seed", "exactly one of the keys 'lm_eval', 'files' or 'hf'"),
    "seed_split_test.yaml": ("seed-split-not-training", 5, 10, "seed.split", "training split 'train', found 'test'"),
    "files_split_validation.yaml": ("seed-split-not-training", 5, 10, "seed.split", "eval split name 'validation'"),
    "training_split_is_eval.yaml": ("training-split-is-eval", 4, 12, "seed.lm_eval", "gpqa_main_zeroshot"),
    "no_training_split.yaml": ("no-training-split", 4, 12, "seed.lm_eval", "mmlu_anatomy"),
    "unknown_task.yaml": ("unknown-task", 4, 12, "seed.lm_eval", "did you mean 'arc_challenge'"),
    "undefined_column.yaml": ("undefined-variable", 5, 13, "fields.question", "undefined column 'questoin'"),
    "solve_sees_answer.yaml": (
        "undefined-variable",
        6,
        13,
        "verify.prompt.inline",
        "undefined solve variable 'answer_text'",
    ),
    "template_syntax.yaml": ("template-syntax", 5, 20, "generate.prompt.inline", "unexpected '}'"),
    "unknown_prompt.yaml": (
        "unknown-prompt",
        5,
        11,
        "generate.prompt",
        "no built-in generate prompt 'similar_questions'",
    ),
    "undeclared_model.yaml": ("undeclared-model", 5, 10, "enrich.model", "'genrator' is not declared"),
    "vote_free_form.yaml": ("verify-format-mismatch", 4, 1, "verify", "needs an extractor"),
    "answer_by_text_short_answer.yaml": ("verify-answer-by", 6, 14, "verify.answer_by", "has no options"),
    "regex_no_group.yaml": ("verify-pattern", 6, 12, "verify.pattern", "needs exactly one capture group"),
    "negative_weight.yaml": ("negative-weight", 5, 11, "blend.weight", "found -0.5"),
    "missing_license.yaml": ("missing-license", 2, 1, "seed", "no licence declared"),
    "code_in_spec.yaml": ("code-in-spec", 7, 13, "fields.question", "'!function' names code to run"),
    "seed_file_eval_named.yaml": ("seed-path-eval-named", 4, 10, "seed.files", "('test' in 'gsm8k-test.jsonl')"),
    "hub_eval_split.yaml": ("hub-eval-split", 4, 14, "seed.hf.path", "split 'train' of hf://datasets/Idavidrein/GPQA/"),
    "seed_outside_project.yaml": ("seed-path-outside-project", 4, 10, "seed.files", "outside the project"),
    "template_bounds.yaml": ("template-bounds", 8, 13, "fields.question", "literal 100,000,000"),
    "template_nondeterministic.yaml": (
        "template-nondeterministic",
        8,
        13,
        "fields.question",
        "filter 'random' is not deterministic",
    ),
    "prompt_file_unsafe.yaml": ("prompt-file-unsafe", 5, 18, "generate.prompt.file", "a system path"),
    "eval_file_unsafe.yaml": ("eval-file-unsafe", 5, 16, "decontaminate.eval_files[0]", "a system path"),
    "index_file_unsafe.yaml": ("index-file-unsafe", 5, 11, "dedup.index[0]", "a system path"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_spec_gives_exactly_its_diagnostic(name: str, fixtures: Path, project_file: Path) -> None:
    rule, line, col, field, words = CASES[name]
    path = fixtures / "bad" / name
    result = lint_paths([path], project_file=project_file)
    assert [(d.rule, d.file, d.line, d.col, d.field) for d in result.diagnostics] == [(rule, path, line, col, field)]
    assert words in result.diagnostics[0].message


def test_cross_file_rules(fixtures: Path, project_file: Path) -> None:
    dup = lint_paths([fixtures / "dup_tasks"], project_file=project_file).diagnostics
    assert [(d.rule, d.file.name, d.line, d.col, d.field) for d in dup] == [("duplicate-task", "b.yaml", 2, 7, "task")]
    assert f"already defined in {fixtures / 'dup_tasks' / 'a.yaml'}:1" in dup[0].message

    zero = lint_paths([fixtures / "zero_weights"], project_file=project_file).diagnostics
    assert [(d.rule, d.file.name, d.line, d.field) for d in zero] == [("all-weights-zero", "a.yaml", 4, "blend.weight")]


def test_every_rule_has_a_failing_fixture() -> None:
    covered = {rule for rule, *_ in CASES.values()} | {"duplicate-task", "all-weights-zero"}
    # Covered by dedicated tests below: no project, unreadable catalogue, missing path, rule crash.
    covered |= {"project-not-found", "catalog-unavailable", "io-error", "internal-error"}
    # Depends on the working folder: tests/attacks/test_system_paths.py (test_a_hub_id_that_is_a_local_path).
    covered |= {"hub-id-is-local-path"}
    assert set(RULES) | set(LOAD_RULES) <= covered


def test_good_specs_are_clean(fixtures: Path, project_file: Path) -> None:
    result = lint_paths([fixtures / "good"], project_file=project_file)
    assert result.diagnostics == []
    assert result.files == 3


def test_error_in_project_defaults_points_into_the_project_file(tmp_path: Path) -> None:
    (tmp_path / "tsqa.yaml").write_text(
        "name: p\nmodels:\n  generator: {engine: vllm, model: m}\ndefaults:\n  verify:\n    model: missing\n"
    )
    spec = tmp_path / "s.yaml"
    spec.write_text("task: piqa\nseed: {lm_eval: piqa, license: mit}\nformat: multiple_choice\n")
    diags = lint_paths([spec]).diagnostics
    assert [(d.rule, d.file.name, d.line, d.col, d.field) for d in diags] == [
        ("undeclared-model", "tsqa.yaml", 6, 12, "verify.model")
    ]


def test_answer_by_text_from_project_defaults_is_refused_on_short_answers(tmp_path: Path) -> None:
    """`defaults.verify.answer_by: text` reaches every spec: fine for multiple choice, an error (in
    the project file) for a short-answer task, where it would otherwise be silently ignored."""
    (tmp_path / "tsqa.yaml").write_text(
        "name: p\nmodels:\n  generator: {engine: vllm, model: m}\ndefaults:\n  verify:\n    answer_by: text\n"
    )
    choice = tmp_path / "choice.yaml"
    choice.write_text("task: piqa\nseed: {lm_eval: piqa, license: mit}\nformat: multiple_choice\n")
    assert lint_paths([choice]).diagnostics == []
    sums = tmp_path / "sums.yaml"
    sums.write_text("task: gsm8k\nseed: {lm_eval: gsm8k, license: mit}\nformat: short_answer\n")
    diags = lint_paths([sums]).diagnostics
    assert [(d.rule, d.file.name, d.line, d.field) for d in diags] == [
        ("verify-answer-by", "tsqa.yaml", 6, "verify.answer_by")
    ]
    sums.write_text(sums.read_text() + "verify: {answer_by: letter}\n")
    assert lint_paths([sums]).diagnostics == []


def test_defaults_merge_under_spec_values(tmp_path: Path) -> None:
    (tmp_path / "tsqa.yaml").write_text(
        "name: p\nmodels:\n  generator: {engine: vllm, model: m}\n"
        "defaults:\n  generate: {per_seed: 7, sampling: {temperature: 0.1, max_tokens: 99}}\n"
        "  verify: {samples: 9}\n"
    )
    from tsqa.spec.load import load_project, load_spec

    project, diags = load_project(tmp_path / "tsqa.yaml")
    assert project is not None and not diags
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(
        "task: t\nseed: {files: a.jsonl}\nformat: short_answer\n"
        "generate: {sampling: {temperature: 0.5}}\nverify: {kind: none}\n"
    )
    loaded, diags = load_spec(spec_file, project)
    assert loaded is not None and not diags
    assert loaded.spec.generate.per_seed == 7
    assert (loaded.spec.generate.sampling.temperature, loaded.spec.generate.sampling.max_tokens) == (0.5, 99)
    assert loaded.spec.verify.kind == "none"  # another kind replaces the default block whole


def test_project_file_errors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "tsqa.yaml").write_text("name: p\nmodels:\n  gen: {engine: tgi, model: m}\n")
    (tmp_path / "s.yaml").write_text("task: piqa\nseed: {lm_eval: piqa, license: mit}\nformat: multiple_choice\n")
    diags = lint_paths([tmp_path]).diagnostics
    assert ("schema", "tsqa.yaml", 3, 8, "models.gen") in [(d.rule, d.file.name, d.line, d.col, d.field) for d in diags]


def test_project_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "s.yaml"
    spec.write_text("task: piqa\nseed: {lm_eval: piqa, license: mit}\nformat: multiple_choice\n")
    diags = lint_paths([Path("specs")]).diagnostics
    assert [(d.rule, d.file) for d in diags] == [("project-not-found", Path("specs/s.yaml"))]


def test_missing_path_is_an_io_error(project_file: Path, tmp_path: Path) -> None:
    diags = lint_paths([tmp_path / "nope.yaml"], project_file=project_file).diagnostics
    assert [(d.rule, d.file) for d in diags] == [("io-error", tmp_path / "nope.yaml")]


def test_unreadable_catalogue_is_reported(fixtures: Path, project_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsqa.seeds import catalog

    def broken() -> None:
        raise catalog.CatalogError("catalogue snapshot is corrupt")

    monkeypatch.setattr(catalog, "load_catalog", broken)
    diags = lint_paths([fixtures / "good"], project_file=project_file).diagnostics
    assert [(d.rule, d.message) for d in diags] == [("catalog-unavailable", "catalogue snapshot is corrupt")]


def test_a_crashing_rule_becomes_an_internal_error(
    fixtures: Path, project_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tsqa.lint.rules.base import Rule

    def explode(ctx: object) -> list[object]:
        raise KeyError("boom")

    monkeypatch.setitem(RULES, "negative-weight", Rule("negative-weight", Severity.ERROR, explode, "doc"))
    diags = lint_paths([fixtures / "good"], project_file=project_file).diagnostics
    assert [(d.rule, d.field) for d in diags] == [("internal-error", "negative-weight")]


def test_a_real_field_in_the_wrong_place_names_where_it_belongs(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "piqa.yaml"
    spec.parent.mkdir()
    spec.write_text("task: piqa\nformat: multiple_choice\nseed: {lm_eval: piqa, fields: {question: '{{ goal }}'}}\n")
    result = lint_paths([spec])
    messages = [d.message for d in result.diagnostics]
    assert any("'fields' does not belong here; it is a field of TaskSpec" in m for m in messages), messages
    assert not any("did you mean 'fields'" in m for m in messages), messages
