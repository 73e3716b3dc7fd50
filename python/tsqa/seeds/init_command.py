"""`tsqa init`: scaffold one spec per lm-eval task (and a tsqa.yaml when there is none)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from tsqa.seeds.catalog import CatalogError, load_catalog
from tsqa.seeds.groups import SEED_GROUPS
from tsqa.seeds.model import TaskInfo
from tsqa.seeds.scaffold import scaffold_spec
from tsqa.spec.load import PROJECT_FILE

STARTER_PROJECT = """\
# Scaffolded by `tsqa init`: the models the stages use, and where the specs are.
version: 1
name: {name}
models:
  generator: {{engine: vllm, model: Qwen/Qwen2.5-7B-Instruct}}
  solver: {{engine: vllm, model: Qwen/Qwen2.5-7B-Instruct}}
specs: [{specs}]
"""


def select_tasks(
    *, all_: bool, families: tuple[str, ...], group: str | None, lang: str | None, tasks: tuple[str, ...]
) -> list[TaskInfo]:
    """The usable catalogue tasks matching every given filter (`tasks` adds named ones)."""
    catalog = load_catalog()
    unknown = [t for t in tasks if catalog.get(t) is None or not catalog.get(t).usable]  # type: ignore[union-attr]
    if unknown:
        reasons = [f"{t} ({catalog.get(t).excluded})" if catalog.get(t) else f"{t} (unknown task)" for t in unknown]  # type: ignore[union-attr]
        raise click.BadParameter("cannot seed from " + ", ".join(reasons), param_hint="--task")
    known_families = {t.family for t in catalog}
    for family in families:
        if family not in known_families:
            raise click.BadParameter(f"no lm-eval family {family!r} has a training split", param_hint="--family")
    if not (all_ or families or group or lang or tasks):
        raise click.UsageError("say which tasks: --all, --family, --group, --lang or --task")
    picked = {
        t.name: t
        for t in catalog.filter(group=group, lang=lang, usable_only=True)
        if (not families or t.family in families) and (not tasks or all_ or families or group or lang)
    }
    picked.update({t: catalog.get(t) for t in tasks})  # type: ignore[misc]
    return [picked[name] for name in sorted(picked)]


def nearest_project(folder: Path) -> Path | None:
    """tsqa.yaml in `folder` or above it (not the cwd: the scaffold must be self-contained)."""
    for parent in (folder.resolve(), *folder.resolve().parents):
        if (parent / PROJECT_FILE).is_file():
            return parent / PROJECT_FILE
    return None


@click.command("init")
@click.option("--all", "all_", is_flag=True, help="Every lm-eval task that can seed generation.")
@click.option("--family", "families", multiple=True, help="Tasks of this lm-eval family (repeatable), e.g. arc.")
@click.option("--group", type=click.Choice(SEED_GROUPS), help="Tasks of families in this seed group.")
@click.option("--lang", help="Tasks in this language (ISO 639 code, e.g. en).")
@click.option("--task", "tasks", multiple=True, help="This task (repeatable).")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("specs"),
    show_default=True,
    help="Folder to write the specs into.",
)
@click.option("--force/--no-force", default=False, help="Overwrite existing spec files (default: keep them).")
def init(
    all_: bool,
    families: tuple[str, ...],
    group: str | None,
    lang: str | None,
    tasks: tuple[str, ...],
    output_dir: Path,
    force: bool,
) -> None:
    """Scaffold one spec per lm-eval task, ready for `tsqa lint`.

    Format and field mapping come from each task's lm-eval config. Filters combine (--family
    arc --lang en). Writes a starter tsqa.yaml beside the folder when none is found in it or
    above it. Does not download data (that is `tsqa seeds fetch`) and sets no licence: lm-eval
    records none, so each spec says where to look.
    """
    try:
        selected = select_tasks(all_=all_, families=families, group=group, lang=lang, tasks=tasks)
    except CatalogError as err:
        raise click.ClickException(str(err)) from None
    if not selected:
        raise click.ClickException("no usable task matches these filters (see `tsqa seeds list`)")
    output_dir.mkdir(parents=True, exist_ok=True)
    if nearest_project(output_dir) is None:
        project = output_dir.resolve().parent / PROJECT_FILE
        specs = os.path.relpath(output_dir.resolve(), project.parent)
        project.write_text(STARTER_PROJECT.format(name=project.parent.name or "tsqa", specs=specs), encoding="utf-8")
        click.echo(f"wrote {project}")
    written = kept = 0
    for info in selected:
        target = output_dir / f"{info.name}.yaml"
        if target.exists() and not force:
            kept += 1
            continue
        target.write_text(scaffold_spec(info), encoding="utf-8")
        written += 1
    kept_note = f"; kept {kept} existing (use --force to overwrite)" if kept else ""
    click.echo(
        f"Wrote {written} specs to {output_dir}{kept_note}. Next: set each seed's licence, then `tsqa lint {output_dir}`."
    )
