"""Generated documentation and the CI script stay true to the code and the README."""

from __future__ import annotations

import re
from pathlib import Path

from tsqa.spec.reference import render_reference

REPO = Path(__file__).resolve().parents[2]


def test_spec_reference_is_current() -> None:
    committed = (REPO / "docs" / "SPEC_REFERENCE.md").read_text()
    assert committed == render_reference(), "run `tsqa schema --reference > docs/SPEC_REFERENCE.md`"


def test_ci_runs_the_readme_commands_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "the README must open with a bash block of the two set-up commands"
    commands = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert all(command in ci for command in commands)


def test_readme_refusals_name_the_rules_lint_has() -> None:
    """The README's promise matches what lint does: one section, and every rule it names exists."""
    from tsqa.lint.rules import RULES

    readme = (REPO / "README.md").read_text()
    assert readme.count("## What is refused and why") == 1
    section = readme.split("## What is refused and why", 1)[1].split("\n## ", 1)[0]
    named = {r for group in re.findall(r"\*\* \(([^)]*)\)", section) for r in re.findall(r"`([a-z-]+)`", group)}
    assert {
        "code-in-spec",
        "template-bounds",
        "seed-path-eval-named",
        "seed-path-outside-project",
        "template-nondeterministic",
        "prompt-file-unsafe",
        "eval-file-unsafe",
        "hub-id-is-local-path",
    } <= named
    assert named <= set(RULES), named - set(RULES)
