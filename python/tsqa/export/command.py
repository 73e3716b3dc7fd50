"""`tsqa export megatron|hf RUN`: training-ready copies of a run's packaged datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tsqa.exit_status import ExitStatus

_RUN = click.argument("run", type=click.Path(path_type=Path, file_okay=False, exists=True))
_LICENSE = click.option(
    "--license",
    "licenses",
    multiple=True,
    metavar="ID",
    help="Export only tasks whose seed licence is one of these (repeatable); unknown licences are then left out.",
)
_UNKNOWN = click.option(
    "--include-unknown-license/--no-include-unknown-license",
    default=False,
    help="With --license, also export tasks whose licence is unknown.",
)


def _selection(run: Path, licenses: tuple[str, ...], include_unknown: bool):  # type: ignore[no-untyped-def]
    from tsqa.export.packaged import ExportError, read_packaged
    from tsqa.seeds.fetch import LicenseFilter

    flt = LicenseFilter(frozenset(x.lower() for x in licenses), include_unknown) if licenses else None
    try:
        return read_packaged(run, flt)
    except ExportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitStatus.FAILURE)


@click.group()
def export() -> None:
    """Training-ready exports of a run directory (Megatron indexed datasets, Hugging Face folder)."""


@export.command()
@_RUN
@click.option(
    "--tokenizer",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="The target tokenizer: a folder with tokenizer.json (and tokenizer_config.json), or the file.",
)
@click.option(
    "-o", "--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder. Default: RUN/export/megatron."
)
@click.option(
    "--append-eod/--no-append-eod",
    default=True,
    help="End every document with the tokenizer's EOS token (as preprocess_data.py --append-eod).",
)
@_LICENSE
@_UNKNOWN
def megatron(
    run: Path,
    tokenizer: Path,
    out: Path | None,
    append_eod: bool,
    licenses: tuple[str, ...],
    include_unknown_license: bool,
) -> None:
    """Megatron .bin/.idx per task and the --data-path blend (weights w·tokens, normalised)."""
    from tsqa.export.megatron import export_megatron, load_tokenizer
    from tsqa.export.packaged import ExportError

    selection = _selection(run, licenses, include_unknown_license)
    target = out or run / "export" / "megatron"
    try:
        blend = export_megatron(selection, target, load_tokenizer(tokenizer, append_eod=append_eod))
    except ExportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitStatus.FAILURE)
    for entry in blend["tasks"]:
        click.echo(
            f"{entry['task']}: {entry['documents']:,} documents, {entry['tokens']:,} tokens, weight {entry['megatron_weight']:.4f}"
        )
    for task, why in selection.skipped:
        click.echo(f"{task}: left out ({why})")
    click.echo(f"written to {target} (--data-path: {target / 'data_path.txt'})")


@export.command()
@_RUN
@click.option(
    "-o", "--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder. Default: RUN/export/hf."
)
@_LICENSE
@_UNKNOWN
def hf(run: Path, out: Path | None, licenses: tuple[str, ...], include_unknown_license: bool) -> None:
    """A folder `datasets.load_dataset(FOLDER, TASK)` reads: Parquet per task and a dataset card."""
    import json

    from tsqa.export.hf import export_hf

    selection = _selection(run, licenses, include_unknown_license)
    target = out or run / "export" / "hf"
    project = json.loads((run / "blend.json").read_text(encoding="utf-8")).get("project")  # read_packaged checked it
    result = export_hf(selection, target, project=project)
    for c in result["configs"]:
        click.echo(f"{c['task']}: {c['rows']:,} rows")
    for task, why in selection.skipped:
        click.echo(f"{task}: left out ({why})")
    click.echo(f"written to {target}")
