"""`tsqa dedup`: exact + near-duplicate removal of one Parquet file, standalone.

Stages: read (by row group) → exact (xxh3-128 of normalised text) → near-dup (MinHash/LSH,
optionally against a saved index) → write (kept rows, or every row annotated) → summary.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tsqa._native import NativeError
from tsqa.curate.exact import exact_dedup
from tsqa.curate.neardup import MinHashIndex, NearDupResult, Verify, near_dedup

__all__ = ["dedup"]

_STRING_TYPES = (pa.string(), pa.large_string(), pa.string_view())
_WRITE_BATCH = 65_536


class _UserError(click.ClickException):
    """A message and exit status 1, never a traceback."""


def _open(path: Path, column: str) -> pq.ParquetFile:
    if not path.exists():
        raise _UserError(f"{path}: no such file")
    if path.is_dir():
        raise _UserError(f"{path}: is a directory; give one Parquet file")
    try:
        pf = pq.ParquetFile(path, memory_map=True)
    except (pa.ArrowException, OSError) as e:
        raise _UserError(f"{path}: not a readable Parquet file ({e})") from None
    schema = pf.schema_arrow
    if column not in schema.names:
        raise _UserError(f"{path}: no column '{column}'; columns: {', '.join(schema.names)}")
    kind = schema.field(column).type
    if kind not in _STRING_TYPES:
        raise _UserError(f"{path}: column '{column}' has type {kind}; dedup needs a string column")
    return pf


def _in_background(fn: Any, progress: Progress, task: Any) -> Any:
    """Runs a native call (GIL released) while the progress display keeps refreshing."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 -- handed to the caller thread and re-raised there
            box["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        progress.refresh()
    progress.update(task, total=1, completed=1)
    if "error" in box:
        raise box["error"]
    return box["value"]


@click.command("dedup")
@click.argument("input_path", metavar="IN.parquet", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Parquet file to write (replaced if it exists).",
)
@click.option("-c", "--column", default="text", show_default=True, help="The string column compared.")
@click.option(
    "--threshold",
    type=float,
    default=0.8,
    show_default=True,
    help="Jaccard similarity of word n-gram sets at or above which records are duplicates.",
)
@click.option(
    "--ngram", type=int, default=5, show_default=True, help="Shingle size (words, or chars with --shingle char)."
)
@click.option(
    "--shingle",
    type=click.Choice(["word", "char"]),
    default="word",
    show_default=True,
    help="Word n-grams, or char n-grams for scripts without spaces.",
)
@click.option("--num-perm", type=int, default=128, show_default=True, help="MinHash signature length.")
@click.option(
    "--keep-digits/--no-keep-digits",
    default=True,
    show_default=True,
    help="Keep digits when comparing (math items that differ only in numbers stay distinct).",
)
@click.option(
    "--verify",
    type=click.Choice(["exact", "signature", "none"]),
    default="exact",
    show_default=True,
    help="Confirm LSH candidates by exact Jaccard, by the signature estimate, or not at all.",
)
@click.option(
    "--exact/--no-exact",
    default=True,
    show_default=True,
    help="Also flag exact duplicates of the normalised text (catches empty/punctuation-only rows).",
)
@click.option(
    "--against",
    "against",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A saved MinHash index (--save-index of an earlier run, other tasks, the seeds) to dedup against.",
)
@click.option(
    "--save-index",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save a MinHash index of the kept rows for later runs.",
)
@click.option(
    "--annotate/--drop",
    default=False,
    show_default=True,
    help="Keep every row and add is_duplicate, duplicate_of, cluster_id, cluster_size columns, or drop duplicates.",
)
@click.option("--threads", type=int, default=None, help="Worker threads. Default: all cores.")
def dedup(
    input_path: Path,
    output: Path,
    column: str,
    threshold: float,
    ngram: int,
    shingle: str,
    num_perm: int,
    keep_digits: bool,
    verify: Verify,
    exact: bool,
    against: Path | None,
    save_index: Path | None,
    annotate: bool,
    threads: int | None,
) -> None:
    """Remove exact and near-duplicate rows of one Parquet file.

    Keeps the first row of each cluster. Reads IN.parquet and writes OUTPUT; does not modify the
    input, call any model or look at other files unless --against is given. Exit status: 0
    done, 1 user error (missing file or column, non-string column, nulls, bad parameter).
    """
    console = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    pf = _open(input_path, column)
    params: dict[str, Any] = {
        "threshold": threshold,
        "num_perm": num_perm,
        "ngram": ngram,
        "shingle": shingle,
        "keep_digits": keep_digits,
    }
    try:
        near_dedup([], verify=verify, threads=threads, **params)  # checks every parameter before any work
        index = MinHashIndex.load(against, **params) if against else None
        columns = [
            TextColumn("{task.description:<10}"),
            SpinnerColumn(),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console, transient=False) as progress:
            read = progress.add_task("read", total=max(pf.num_row_groups, 1))
            groups = []
            for i in range(pf.num_row_groups):
                groups.append(pf.read_row_group(i))
                progress.advance(read)
            table = pa.concat_tables(groups) if groups else pf.schema_arrow.empty_table()
            progress.update(read, completed=max(pf.num_row_groups, 1))
            texts = table.column(column)
            exact_dup = np.zeros(len(table), dtype=bool)
            if exact:
                task = progress.add_task("exact", total=None)
                exact_dup = _in_background(lambda: exact_dedup(texts, threads=threads).is_duplicate, progress, task)
            task = progress.add_task("near-dup", total=None)
            near: NearDupResult = _in_background(
                lambda: near_dedup(texts, column=column, verify=verify, index=index, threads=threads, **params),
                progress,
                task,
            )
            is_dup = near.is_duplicate | exact_dup
            extra = {
                "is_duplicate": is_dup,
                "duplicate_of": near.duplicate_of,
                "cluster_id": near.cluster_id,
                "cluster_size": near.cluster_size,
            }
            schema = table.schema
            if annotate:
                for name, values in extra.items():
                    schema = schema.append(pa.field(name, pa.from_numpy_dtype(values.dtype)))
            n_out = len(table) if annotate else int((~is_dup).sum())
            write = progress.add_task("write", total=max(n_out, 1))
            # Slice by slice, so the output never costs a second copy of the whole input.
            with pq.ParquetWriter(output, schema) as writer:
                for start in range(0, len(table), _WRITE_BATCH):
                    part = table.slice(start, _WRITE_BATCH)
                    stop = start + len(part)
                    if annotate:
                        for name, values in extra.items():
                            part = part.append_column(name, pa.array(values[start:stop]))
                    else:
                        part = part.filter(pa.array(~is_dup[start:stop]))
                    writer.write_table(part)
                    progress.advance(write, len(part))
            progress.update(write, completed=max(n_out, 1))
            if save_index:
                kept = MinHashIndex(**params)
                kept.add(
                    texts.filter(pa.array(~is_dup)),
                    np.flatnonzero(~is_dup).astype(np.uint64),
                    threads=threads,
                    column=column,
                )
                kept.save(save_index)
    except NativeError as e:
        raise _UserError(f"{input_path}: {e}") from None
    except OSError as e:
        raise _UserError(str(e)) from None
    _summary(console, len(table), exact_dup, near, is_dup, threshold, time.perf_counter() - started, output)


def _summary(
    console: Console,
    n: int,
    exact_dup: Any,
    near: NearDupResult,
    is_dup: Any,
    threshold: float,
    seconds: float,
    output: Path,
) -> None:
    s = near.stats
    n_exact = int(exact_dup.sum())
    index_hit = (near.index_match >= 0) & ~exact_dup
    n_index = int(index_hit.sum())
    n_near = int(is_dup.sum()) - n_exact - n_index
    table = Table(title="dedup", show_header=True, header_style="bold")
    for col in ("stage", "seconds", "detail"):
        table.add_column(col)
    table.add_row(
        "band keys", f"{s['band_keys_s']:.2f}", f"{s['bands']} bands × {s['rows']} rows, {s['kernel']} kernel"
    )
    table.add_row("index", f"{s['index_s']:.2f}", f"{int((near.index_match >= 0).sum()):,} rows match the index")
    table.add_row("group", f"{s['group_s']:.2f}", f"{s['candidate_pairs']:,} candidate pairs")
    table.add_row("verify", f"{s['verify_s']:.2f}", f"{s['verified_pairs']:,} pairs at J ≥ {threshold}")
    table.add_row("cluster", f"{s['cluster_s']:.2f}", "")
    console.print(table)
    kept = n - int(is_dup.sum())
    console.print(
        f"Kept {kept:,} of {n:,} records ({n_exact:,} exact duplicates, {n_near:,} near duplicates at "
        f"threshold {threshold}, {n_index:,} matching the index) in {seconds:.1f} s; wrote {output}.",
        soft_wrap=True,
    )
