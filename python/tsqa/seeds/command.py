"""`tsqa seeds …`: browse the lm-eval catalogue of tasks that can seed generation."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from itertools import groupby
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from tsqa.cli_options import project_option
from tsqa.seeds.catalog import Catalog, CatalogError, build_catalog, load_catalog
from tsqa.seeds.groups import SEED_GROUPS, family_group
from tsqa.seeds.local_data import DATA_DIR_ENV
from tsqa.seeds.model import OUTPUT_TYPES, TaskInfo


@click.group()
def seeds() -> None:
    """Browse the lm-eval tasks that can seed generation, and snapshot their training splits."""


@seeds.command("fetch")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option(
    "--license",
    "licenses",
    multiple=True,
    metavar="SPDX",
    help="Only seeds under this licence (repeatable); seeds of unknown licence are then skipped.",
)
@click.option(
    "--include-unknown-license/--no-include-unknown-license",
    default=False,
    help="With --license, also fetch seeds whose licence is unknown.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    envvar=DATA_DIR_ENV,
    help=f"Read hub datasets from local files in this folder instead of the hub (env {DATA_DIR_ENV}).",
)
@click.option("--force/--no-force", default=False, help="Fetch again even when the store holds the same seed.")
def fetch(
    paths: tuple[Path, ...],
    project_file: Path | None,
    licenses: tuple[str, ...],
    include_unknown_license: bool,
    data_dir: Path | None,
    force: bool,
) -> None:
    """Snapshot the training split of each spec's seed into the project's seed store.

    PATHS are spec files or folders (default: specs). Writes Parquet plus meta.json (source,
    revision, split, rows, columns, licence, fetch time) under tsqa.yaml's `seed_store`, so plan
    and apply work offline. Seeds already in the store are skipped. Reads training splits only:
    a seed pointing at validation or test data fails. Exit status: 0 ok, 1 any failure.
    """
    from tsqa.exit_status import ExitStatus
    from tsqa.seeds.fetch import LicenseFilter, fetch_specs
    from tsqa.seeds.store import SeedStore

    project, loaded, problems = _load_specs(paths, project_file)
    store = SeedStore.for_project(project.path, project.project)
    license_filter = (
        LicenseFilter(frozenset(x.lower() for x in licenses), include_unknown_license) if licenses else None
    )
    results = fetch_specs(loaded, store, data_dir=data_dir, licenses=license_filter, force=force)
    for p in problems:
        click.echo(f"error: {p}", err=True)
    for r in results:
        click.echo(f"{r.outcome:>10}  {r.task}: {r.detail}", err=r.outcome == "failed")
        for line in r.refused[:50]:
            click.echo(f"   refused  {line}", err=True)
        if len(r.refused) > 50:
            click.echo(f"   refused  … {len(r.refused) - 50} more (listed in the snapshot's meta.json)", err=True)
    counts = {k: sum(r.outcome == k for r in results) for k in ("fetched", "up to date", "skipped", "failed")}
    failed = counts["failed"] + len(problems)
    click.echo(
        f"Fetched {counts['fetched']}, {counts['up to date']} up to date, {counts['skipped']} skipped, "
        f"{failed} failed; seed store: {store.root}."
    )
    sys.exit(ExitStatus.FAILURE if failed else ExitStatus.SUCCESS)


@seeds.command("fetch-eval")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    envvar=DATA_DIR_ENV,
    help=f"Read hub datasets from local files in this folder instead of the hub (env {DATA_DIR_ENV}).",
)
def fetch_eval_command(paths: tuple[Path, ...], project_file: Path | None, data_dir: Path | None) -> None:
    """Store the eval (validation/test) splits of each lm-eval spec's task, for decontamination.

    The texts go to the eval store (beside the seed store), which no seed reader opens: eval data
    is searched by `tsqa apply`'s decontamination stage, never used to generate. Seeds of other
    kinds declare their eval data with `decontaminate.eval_files`.
    """
    from tsqa.exit_status import ExitStatus
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.eval_store import EvalStore, fetch_eval

    project, loaded, problems = _load_specs(paths, project_file)
    store = EvalStore.for_project(project.path, project.project)
    catalog = load_catalog()
    stored = 0
    for spec in loaded:
        try:
            for split in fetch_eval(spec.spec, catalog, store, spec_dir=spec.path.parent, data_dir=data_dir):
                if split.rows is None:
                    click.echo(f"   missing  {spec.spec.task}: {split.key} {split.split} (not in the data dir)")
                    continue
                click.echo(f"    stored  {spec.spec.task}: {split.key} {split.split}, {split.rows} records")
                stored += 1
        except SeedError as exc:
            problems.append(f"{spec.path}: {exc}")
    for p in problems:
        click.echo(f"error: {p}", err=True)
    click.echo(f"Stored {stored} eval splits, {len(problems)} failed; eval store: {store.root}.")
    sys.exit(ExitStatus.FAILURE if problems else ExitStatus.SUCCESS)


def _load_specs(paths: tuple[Path, ...], project_file: Path | None):  # type: ignore[no-untyped-def]
    """The project and the lint-clean specs under `paths`, plus a line per problem (a user error,
    no traceback). Specs are linted first, as by plan and apply: a spec with a lint error (a
    `!function` string, a seed path named like eval data …) is reported and never read.
    The snapshot rule is fetch's own job (it fetches a snapshot that does not verify again)."""
    from tsqa.lint import Severity, lint_paths
    from tsqa.lint.report import text_line

    paths = paths or (Path("specs"),)
    checked = lint_paths(list(paths), project_file=project_file)
    errors = [d for d in checked.diagnostics if d.severity is Severity.ERROR]
    problems = [text_line(d) for d in errors]
    if checked.project is None:
        if any(d.rule == "project-not-found" for d in errors):
            raise click.ClickException("no tsqa.yaml found beside or above the given paths (use --project)")
        raise click.ClickException("invalid project file:\n" + "\n".join(problems))
    if any(d.file == checked.project.path for d in errors):
        raise click.ClickException("invalid project file:\n" + "\n".join(problems))
    bad = {d.file for d in errors}
    return checked.project, [s for s in checked.specs if s.path not in bad], problems


@seeds.command("list")
@click.option("--family", help="Only this lm-eval family (its folder under lm_eval/tasks, e.g. arc).")
@click.option("--output-type", type=click.Choice(OUTPUT_TYPES), help="Only tasks of this lm-eval output type.")
@click.option("--lang", help="Only tasks in this language (ISO 639 code, e.g. en).")
@click.option("--group", type=click.Choice(SEED_GROUPS), help="Only families of this seed group.")
@click.option(
    "--usable/--all",
    "usable_only",
    default=False,
    show_default=True,
    help="Only tasks that can seed, or every task with a training split (excluded ones with their reason).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for tools instead of tables.")
@click.option(
    "--from-installed/--from-snapshot",
    default=False,
    show_default=True,
    help="Read the installed lm-eval's registry (several seconds) instead of tsqa's shipped snapshot.",
)
def list_(
    family: str | None,
    output_type: str | None,
    lang: str | None,
    group: str | None,
    usable_only: bool,
    as_json: bool,
    from_installed: bool,
) -> None:
    """List the lm-eval tasks that declare a training split, by output type and family.

    Reads task YAML only: downloads no dataset and imports no task code. Tasks whose training
    split is also an evaluation split are listed as excluded, with the reason.
    """
    console = Console(highlight=False, soft_wrap=as_json)
    if not console.is_terminal:  # piped or captured: 80 columns would fold every cell
        console = Console(highlight=False, soft_wrap=as_json, width=140)
    catalog = _catalog(from_installed)
    _check_choice("family", family, {t.family for t in catalog})
    _check_choice("language", lang, {t.language for t in catalog if t.language})
    selected = catalog.filter(family=family, output_type=output_type, lang=lang, group=group, usable_only=usable_only)
    if as_json:
        console.out(json.dumps(to_json(selected, catalog), indent=1, ensure_ascii=False))
        return
    for kind, tasks in groupby(sorted(selected, key=_order), key=lambda t: t.output_type):
        console.print(_table(kind, list(tasks), catalog))
    _warn_if_stale(catalog)
    console.out(selected.counts().summary())


def to_json(selected: Catalog, catalog: Catalog) -> dict[str, Any]:
    counts = selected.counts()
    return {
        "lm_eval_version": catalog.lm_eval_version,
        "counts": {
            "tasks": counts.tasks,
            "usable": counts.usable,
            "excluded": counts.excluded,
            "families": counts.families,
            "usable_families": counts.usable_families,
            "usable_sources": counts.usable_sources,
            "by_output_type": dict(counts.by_output_type),
        },
        "tasks": [
            {**t.to_json(), "group": family_group(t.family), "duplicates": list(catalog.duplicates(t.name))}
            for t in sorted(selected, key=_order)
        ],
    }


def _order(t: TaskInfo) -> tuple[int, str, str]:
    return (OUTPUT_TYPES.index(t.output_type) if t.output_type in OUTPUT_TYPES else 99, t.family, t.name)


def _catalog(from_installed: bool) -> Catalog:
    try:
        return build_catalog() if from_installed else load_catalog()
    except CatalogError as err:
        raise click.ClickException(
            f"{err}. Use --from-installed, or regenerate: python -m tsqa.seeds.catalog"
        ) from None
    except ImportError as err:
        raise click.ClickException(f"cannot read the installed lm-eval ({err}); install lm-eval>=0.4.12,<0.5") from None


def _check_choice(what: str, value: str | None, known: Iterable[str]) -> None:
    known = sorted(known)
    if value is None or value in known:
        return
    near = difflib.get_close_matches(value, known, n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else f"; known: {', '.join(known)}"
    raise click.BadParameter(
        f"no task with a training split has {what} {value!r}{hint}",
        param_hint=f"--{what[:4]}" if what == "language" else f"--{what}",
    )


def _flags(t: TaskInfo, catalog: Catalog) -> list[str]:
    flags = []
    if t.excluded:
        flags.append(f"[red]excluded: {t.excluded}[/]")
    if t.letter_only_choices:
        flags.append("letter-only choices")
    if t.multiple_input:
        flags.append("multiple-input")
    if dups := catalog.duplicates(t.name):
        shown = ", ".join(dups[:3]) + (f" +{len(dups) - 3}" if len(dups) > 3 else "")
        flags.append(f"same data: {shown}")
    if t.function_fields:
        flags.append("functions: " + ", ".join(t.function_fields))  # need the task's Python deps
    elif t.has_process_docs:
        flags.append("process_docs")
    return flags


def _table(kind: str, tasks: list[TaskInfo], catalog: Catalog) -> Table:
    usable = sum(t.usable for t in tasks)
    table = Table(title=f"{kind}: {len(tasks)} tasks, {usable} usable", title_justify="left")
    table.add_column("family / task  [dim]dataset (config)[/]", overflow="fold", min_width=24, ratio=2)
    table.add_column("train", no_wrap=True)
    table.add_column("eval", overflow="fold")
    table.add_column("lang", no_wrap=True)
    table.add_column("notes", overflow="fold", ratio=3)
    for family, members in groupby(tasks, key=lambda t: t.family):
        table.add_row(f"[bold]{family}[/] [cyan]{family_group(family) or ''}[/]", end_section=False)
        for t in members:
            dataset = (t.dataset_path or "-") + (f" ({t.dataset_name})" if t.dataset_name else "")
            name = t.name if t.usable else f"[dim]{t.name}[/]"
            table.add_row(
                f"  {name}\n  [dim]{dataset}[/]",
                t.training_split or "-",
                ", ".join(sorted(t.eval_splits)) or "-",
                t.language or "-",
                "; ".join(_flags(t, catalog)),
            )
        table.add_section()
    return table


def _warn_if_stale(catalog: Catalog) -> None:
    try:
        installed = dist_version("lm_eval")
    except PackageNotFoundError:
        return
    if installed != catalog.lm_eval_version:
        click.echo(
            f"warning: the catalogue was built from lm-eval {catalog.lm_eval_version}, installed is {installed}; "
            "use --from-installed or regenerate it (python -m tsqa.seeds.catalog)",
            err=True,
        )
