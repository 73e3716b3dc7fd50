"""`tsqa init`: scaffolded specs pass lint unchanged and map fields exactly as lm-eval does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from seed_helpers import FIXTURES, GOLDEN_TASKS

from tsqa.cli import main
from tsqa.lint import lint_paths
from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.load import read_split
from tsqa.seeds.normalise import normalise
from tsqa.seeds.scaffold import scaffold_spec
from tsqa.seeds.source import resolve_seed
from tsqa.spec.load import load_spec


def test_init_all_then_lint_has_no_errors(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = CliRunner().invoke(main, ["init", "--all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    usable = [t.name for t in load_catalog().filter(usable_only=True)]
    assert sorted(p.stem for p in out.glob("*.yaml")) == sorted(usable)
    assert (tmp_path / "tsqa.yaml").is_file()
    lint = lint_paths([out])
    errors = [d for d in lint.diagnostics if d.severity.name == "ERROR"]
    assert errors == []
    # Only the licence warning, once per spec: lm-eval records no licence.
    assert {d.rule for d in lint.diagnostics} == {"missing-license"} and lint.warnings == len(usable)


def test_filters_and_keeping_existing_specs(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    run = CliRunner().invoke
    assert run(main, ["init", "--family", "arc", "--lang", "en", "-o", str(out)]).exit_code == 0
    assert sorted(p.stem for p in out.glob("*.yaml")) == sorted(
        t.name for t in load_catalog() if t.family == "arc" and t.usable
    )
    assert "arc_easy" in {p.stem for p in out.glob("*.yaml")}
    (out / "arc_easy.yaml").write_text("# mine\n" + (out / "arc_easy.yaml").read_text())
    again = run(main, ["init", "--task", "arc_easy", "--task", "piqa", "-o", str(out)])
    assert "kept 1 existing" in again.output and (out / "arc_easy.yaml").read_text().startswith("# mine")
    assert (out / "piqa.yaml").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "gpqa_main_zeroshot"], "cannot seed from gpqa_main_zeroshot (training split 'train' is also"),
        (["--family", "no_such_family"], "no lm-eval family 'no_such_family'"),
        ([], "say which tasks"),
    ],
)
def test_user_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["init", *args, "-o", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("name", sorted(GOLDEN_TASKS))
def test_scaffolded_fields_normalise_like_the_task_rules(tmp_path: Path, name: str) -> None:
    (tmp_path / "tsqa.yaml").write_text(
        "version: 1\nname: p\nmodels: {generator: {engine: vllm, model: m}, solver: {engine: vllm, model: m}}\n"
    )
    info = load_catalog().get(name)
    assert info is not None
    path = tmp_path / f"{name}.yaml"
    path.write_text(scaffold_spec(info))
    loaded, diags = load_spec(path, None)
    assert loaded is not None, diags
    spec = loaded.spec
    bare = spec.model_copy(update={"fields": type(spec.fields)()})
    table = read_split(resolve_seed(spec, load_catalog()), spec_dir=tmp_path, data_dir=FIXTURES)
    assert normalise(spec, info, table) == normalise(bare, info, table)
