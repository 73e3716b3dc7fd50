"""The `tsqa` command line. Each verb is a thin layer over a library function; user errors end
in a message and an exit code, never a traceback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from tsqa import __version__
from tsqa.cli_options import project_option
from tsqa.exit_status import ExitStatus

console = Console(highlight=False, soft_wrap=True)


class _LazyGroup(click.Group):
    """Verbs defined in other packages are imported when they run, not on every start-up (the
    seeds and dedup commands pull in the native core and the catalogue: ~0.3 s a `tsqa plan`)."""

    lazy = {
        "seeds": "tsqa.seeds.command:seeds",
        "init": "tsqa.seeds.init_command:init",
        "dedup": "tsqa.curate.dedup_command:dedup",
        "export": "tsqa.export.command:export",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, attr = self.lazy[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tsqa")
def main() -> None:
    """Turn the training splits of lm-eval tasks into curated synthetic Q&A for pretraining."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Output: text for people, json for tools, github for GitHub Actions annotations.",
)
@click.option("--strict/--no-strict", default=False, help="Treat warnings as errors.")
@click.option("--explain", metavar="RULE", help="Print the documentation of a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule id with its summary and exit.")
def lint(
    paths: tuple[Path, ...], project_file: Path | None, fmt: str, strict: bool, explain: str | None, list_rules: bool
) -> None:
    """Check specs for schema and semantic errors.

    PATHS are spec files or folders (searched recursively). Lint reads no dataset and calls no
    model. Exit status: 0 clean, 1 errors (or warnings with --strict).
    """
    from tsqa.lint import lint_paths
    from tsqa.lint.report import render
    from tsqa.lint.rules import RULES
    from tsqa.lint.rules.base import LOAD_RULES

    if list_rules or explain:
        docs = {**dict(LOAD_RULES.items()), **{r.id: r.doc for r in RULES.values()}}
        if explain:
            if explain not in docs:
                raise click.UsageError(f"unknown rule {explain!r}; see --list-rules")
            console.out(f"{explain}\n\n{docs[explain]}")
        else:
            for rule_id, doc in docs.items():
                console.out(f"{rule_id:28} {doc.strip().splitlines()[0]}")
        return
    from tsqa.seeds.guard_memo import remembering

    with remembering():  # the two seed-path rules guard each seed file once
        result = lint_paths(list(paths) or [Path("specs")], project_file=project_file, strict=strict)
    render(result, fmt, console)  # type: ignore[arg-type]
    sys.exit(ExitStatus.FAILURE if result.errors else ExitStatus.SUCCESS)


@main.command()
@click.argument("kind", type=click.Choice(["project", "task", "all"]), default="all")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write project.schema.json and task.schema.json into this folder instead of printing.",
)
@click.option("--reference", is_flag=True, help="Print the Markdown spec reference instead of JSON Schema.")
def schema(kind: str, output_dir: Path | None, reference: bool) -> None:
    """Print the JSON Schema of the project file and/or the task spec, for editors.

    Point yaml-language-server at it with a first line such as
    `# yaml-language-server: $schema=../schema/task.schema.json`.
    """
    from tsqa.spec.schema import SCHEMA_FILES, json_schema

    if reference:
        from tsqa.spec.reference import render_reference

        console.out(render_reference(), end="")
        return
    kinds = ["project", "task"] if kind == "all" else [kind]
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for k in kinds:
            target = output_dir / SCHEMA_FILES[k]  # type: ignore[index]
            target.write_text(json.dumps(json_schema(k), indent=2) + "\n", encoding="utf-8")  # type: ignore[arg-type]
            console.out(f"wrote {target}")
        return
    payload = json_schema(kinds[0]) if len(kinds) == 1 else {k: json_schema(k) for k in kinds}  # type: ignore[arg-type]
    console.out(json.dumps(payload, indent=2))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON instead of tables.")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan; `tsqa apply PLAN` refuses it once any input has changed.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when there is nothing to do, 2 when there is work, 1 on errors."
)
@click.option(
    "--sample-rows",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Seed rows per task to render prompts on (token estimates and the token-budget check).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Processes to lint and compile the specs in [default: one per CPU, for plans of 96 specs or more].",
)
def plan(
    paths: tuple[Path, ...],
    project_file: Path | None,
    as_json: bool,
    out: Path | None,
    detailed_exitcode: bool,
    sample_rows: int,
    jobs: int | None,
) -> None:
    """Show what apply would do, what it costs and what it yields.

    Per task: seed rows, model requests, prompt/answer tokens, GPU-hours on the declared workers,
    expected verified rows, and what changed since the last apply (regenerate, re-verify, re-dedup,
    re-blend …). Plan calls no model, uses no GPU and reads no dataset in full: prompts are rendered
    on a small sample of fetched seed rows. Specs are linted first; lint errors stop the plan.
    Without PATHS, the specs are those the project file lists under `specs:`.
    """
    with _collecting_less_often():  # imports included: building the spec models allocates too
        from tsqa.compile.inputs import default_spec_paths
        from tsqa.compile.planner import plan_paths
        from tsqa.compile.saved import PlanError, save_plan
        from tsqa.forked import WorkerFailed
        from tsqa.lint.report import render
        from tsqa.seeds.catalog import CatalogError
        from tsqa.seeds.guard_memo import remembering
        from tsqa.store.state import StateError

        with remembering():  # lint, the row counts and the samples guard each seed file once
            try:
                planned = plan_paths(
                    list(paths) or default_spec_paths(project_file),
                    project_file=project_file,
                    sample_rows=sample_rows,
                    jobs=jobs,
                )
            except (StateError, CatalogError, WorkerFailed) as exc:
                console.print(f"[red]error[/]: {exc}", highlight=False)
                sys.exit(ExitStatus.FAILURE)
            except PlanError as exc:  # a seed snapshot that holds eval rows, or was replaced
                console.print(str(exc), markup=False, highlight=False)
                sys.exit(ExitStatus.FAILURE)
    if planned.plan is None:
        render(planned.checked, "text", console)
        sys.exit(ExitStatus.FAILURE)
    compiled = planned.plan
    if not console.is_terminal:
        console.width = max(console.width, 150)  # piped output: don't squeeze the tables
    if as_json:  # straight to stdout: rich's wrapping costs seconds on a large plan
        sys.stdout.write(compiled.model_dump_json(indent=2) + "\n")
        sys.stdout.flush()
    else:
        from tsqa.compile.report import render_plan

        render_plan(compiled, console)
    if out is not None:
        try:
            save_plan(compiled, out)
        except PlanError as exc:
            console.print(f"[red]error[/]: {exc}")
            sys.exit(ExitStatus.FAILURE)
        if not as_json:
            console.print(f"Saved the plan to {out}; apply it with `tsqa apply {out}`.")
    code = ExitStatus.CHANGES if detailed_exitcode and compiled.has_work else ExitStatus.SUCCESS
    _end_command(code)


@contextmanager
def _collecting_less_often() -> Iterator[None]:
    """A plan allocates millions of short-lived objects and few reference cycles: Python's cycle
    collector, run every 700 allocations by default, took ~0.3 s of a 700-spec plan. Collect
    every 20,000 (and the older generations 20 times rarer each) while the plan is computed;
    memory is freed by reference counts as before, only garbage cycles wait a little longer.
    The previous thresholds come back afterwards: a caller in the same process (a test, a
    library user) must not inherit a collector that defers its garbage, and its unclosed files'
    warnings, to some unrelated later moment."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option("--limit", type=click.IntRange(min=1), help="Use at most N seed rows per task: a quick trial run.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars per stage.")
@click.option(
    "--accept-failures",
    is_flag=True,
    help="Record model calls that still fail after retries as rejects (engine_error) instead of "
    "leaving their stage incomplete for the next apply to retry.",
)
@click.option(
    "--verify",
    "verify_all",
    is_flag=True,
    help="Check the sha256 of every finished shard and every page of the cache, not only sizes and footers.",
)
def apply(
    paths: tuple[Path, ...],
    project_file: Path | None,
    limit: int | None,
    progress: bool,
    accept_failures: bool,
    verify_all: bool,
) -> None:
    """Generate: run the plan on the declared engines and write the run directory.

    PATHS are spec folders/files, or one saved plan (plan.json) from `tsqa plan -o`, which is
    refused when any of its inputs changed since it was saved. Resumable: after a crash or kill,
    run the same command again; finished stages and model calls are not repeated. Without PATHS,
    the specs are those the project file lists under `specs:`.
    """
    from tsqa.apply.progress import rich_progress
    from tsqa.apply.session import ApplyFailed, run_apply

    try:
        with rich_progress(console, enabled=progress) as bars:
            result = run_apply(
                list(paths),
                project_file=project_file,
                limit=limit,
                progress=bars,
                accept_failures=accept_failures,
                verify=verify_all,
            )
    except ApplyFailed as exc:
        for line in exc.lines:
            console.print(line, highlight=False)
        sys.exit(ExitStatus.FAILURE)
    from tsqa.apply.summary import render_summary

    render_summary(result, console)
    if not result.complete:
        sys.exit(ExitStatus.FAILURE)


class _AsCommand:
    """`run`'s context object: this process is the `tsqa` command, not a caller of `main` (a
    test's CliRunner, a script) that goes on after the verb."""


def run() -> None:
    """The `tsqa` command (`main`, as a process of its own)."""
    main(obj=_AsCommand())


def _end_command(code: int) -> NoReturn:
    """Exit with `code` once a read-only verb's output is written. As a command, without tearing
    the interpreter down: freeing a 700-task plan's objects one by one took 0.11-0.16 s of its
    ~2 s, and the verb leaves nothing to clean up (files written atomically, the forked workers
    joined). mypy ends the same way. A caller of `main` gets SystemExit, as from any verb."""
    if not isinstance(click.get_current_context().find_root().obj, _AsCommand):
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`>&-`): nothing to flush
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or file: the output did not all arrive
            code = ExitStatus.FAILURE
    os._exit(code)


if __name__ == "__main__":
    run()
