"""What the plan knows about a task's seeds without reading a dataset in full: the row count and a
small sample of normalised records to render prompts on.

Sources, in order: the seed store written by `tsqa seeds fetch` (metadata + first rows), the files
of a `files:` seed (Parquet footers, JSONL line counts), the spec's `limit`. No dataset is read in
full and nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsqa.spec.load import LoadedProject, LoadedSpec
from tsqa.spec.models import FilesSeed

if TYPE_CHECKING:
    from tsqa.seeds.content import EvalRecords

# Rows prompts are rendered on: enough for a mean and a worst case, few enough that 700 specs plan
# in seconds (rendering dominates). `tsqa plan --sample-rows` raises it for a stricter budget check.
SAMPLE_ROWS = 8


@dataclass(frozen=True)
class SeedSample:
    rows: int | None
    source: str
    records: list[dict[str, Any]] = field(default_factory=list)
    """Prompt variables of sampled normalised records (question, choices, answer, answer_text, context, seed_id)."""
    meta_files: list[Path] = field(default_factory=list)
    """Seed metadata files the counts came from (they enter the plan's input digest)."""
    notes: list[str] = field(default_factory=list)


class EvalRecordsCache:
    """The eval store's records per spec folder, read once per plan (not once per spec: a plan of
    700 specs otherwise parses the project file and reads the eval store 1,400 times)."""

    def __init__(self) -> None:
        self._by_dir: dict[Path, list[EvalRecords]] = {}

    def __call__(self, spec_dir: Path) -> list[EvalRecords]:
        if spec_dir not in self._by_dir:
            from tsqa.seeds.load import project_eval_records

            self._by_dir[spec_dir] = project_eval_records(spec_dir)
        return self._by_dir[spec_dir]


def sample_seeds(
    loaded: LoadedSpec,
    project: LoadedProject,
    sample_rows: int = SAMPLE_ROWS,
    evals: EvalRecordsCache | None = None,
) -> SeedSample:
    spec = loaded.spec
    limit = spec.seed.limit
    evals = evals or EvalRecordsCache()
    rows, source, records, metas, notes = _from_store(loaded, project, sample_rows, evals)
    if rows is None:
        rows, source = _from_files(loaded), "files"
        if rows is not None:
            records = _file_sample(loaded, notes, sample_rows, evals)
        if rows is None:
            source = "unknown"
            if limit is None:
                notes.append("seed rows unknown: run `tsqa seeds fetch` to snapshot the training split")
    if rows is not None and limit is not None:
        rows = min(rows, limit)
    elif rows is None and limit is not None:
        rows, source = limit, "limit"
        notes.append("seed rows taken from `limit` (seeds not fetched: the split may be smaller)")
    return SeedSample(rows, source, records, metas, notes)


def _from_store(loaded: LoadedSpec, project: LoadedProject, sample_rows: int, evals: EvalRecordsCache):  # type: ignore[no-untyped-def]
    notes: list[str] = []
    try:
        from tsqa.seeds.store import SeedStore
    except ImportError:
        return None, "unknown", [], [], notes
    from tsqa.compile.saved import PlanError
    from tsqa.seeds.errors import ContentRefused, SeedDataError

    store = SeedStore.for_project(project.path, project.project)
    try:
        meta = store.meta(loaded.spec)
    except (ContentRefused, SeedDataError) as exc:  # eval rows, a replaced or damaged snapshot: never a plan
        ref = loaded.ref(("seed",), prefer_key=True)
        message = str(exc).split(": ", 1)[1] if str(exc).startswith("task ") else str(exc)
        raise PlanError(f"{ref.file}:{ref.pos.line}:{ref.pos.col}: error[seed-snapshot] {message}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged store entry is reported, the plan goes on
        notes.append(f"seed store unreadable: {exc}")
        return None, "unknown", [], [], notes
    if meta is None:
        if isinstance(loaded.spec.seed, FilesSeed):
            _refuse_eval_rows(loaded, None, evals)  # an unfetched file seed: its files, as fetch would
        return None, "unknown", [], [], notes
    _refuse_eval_rows(loaded, lambda: store.read(loaded.spec, limit=None), evals)  # eval files declared since
    metas = [_meta_file(store, loaded)]
    records = _normalise_first_rows(loaded, notes, lambda: store.read(loaded.spec, limit=sample_rows))
    return meta.rows, "seed-store", records, metas, notes


def _refuse_eval_rows(loaded: LoadedSpec, read: Any, store_evals: EvalRecordsCache) -> None:
    """PlanError (naming the spec's `seed:` line) when seed rows are eval rows of what the spec
    can see: the eval store, its declared eval files (`read` None: the seed's files on disk)."""
    from tsqa.compile.saved import PlanError
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.content import check_rows
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.load import read_guarded, visible_evals
    from tsqa.seeds.rendered import rendered_texts
    from tsqa.seeds.source import resolve_seed

    catalog = load_catalog()
    try:
        seed = resolve_seed(loaded.spec, catalog)
        evals = visible_evals(
            seed,
            spec_dir=loaded.path.parent,
            eval_files=list(loaded.spec.decontaminate.eval_files),
            catalog=catalog,
            data_dir=None,
            store_records=[] if read is not None else store_evals(loaded.path.parent),
        )
        if not any(e.ids for e in evals):
            return
        table = read() if read is not None else read_guarded(seed, spec_dir=loaded.path.parent, catalog=catalog)
        # What the field templates build from each row too, as fetch and apply compare (rendered.py).
        report = check_rows(table, evals, partial(rendered_texts, loaded.spec, catalog))
    except SeedError as exc:  # refused by name or path (lint says why), or unreadable: fetch says
        if "eval rows" not in str(exc) and "snapshot" not in str(exc):
            return
        report_text = str(exc).split(": ", 1)[1] if str(exc).startswith("task ") else str(exc)
    else:
        if not report.matches:
            return
        report_text = report.summary()
    ref = loaded.ref(("seed",), prefer_key=True)
    raise PlanError(f"{ref.file}:{ref.pos.line}:{ref.pos.col}: error[seed-snapshot] {report_text}")


def _meta_file(store: Any, loaded: LoadedSpec) -> Path:
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.source import resolve_seed
    from tsqa.seeds.store import META_FILE

    return Path(store.folder(resolve_seed(loaded.spec, load_catalog()))) / META_FILE


def _file_sample(
    loaded: LoadedSpec, notes: list[str], sample_rows: int, evals: EvalRecordsCache
) -> list[dict[str, Any]]:
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.load import read_split
    from tsqa.seeds.source import resolve_seed

    return _normalise_first_rows(
        loaded,
        notes,
        lambda: read_split(
            resolve_seed(loaded.spec, load_catalog()),
            spec_dir=loaded.path.parent,
            limit=sample_rows,
            evals=evals(loaded.path.parent),
            spec=loaded.spec,
        ),
    )


def _normalise_first_rows(loaded: LoadedSpec, notes: list[str], read: Any) -> list[dict[str, Any]]:
    from tsqa.seeds.errors import SeedDataError

    try:
        from tsqa.seeds.catalog import load_catalog
        from tsqa.seeds.normalise import normalise

        seed = loaded.spec.seed
        info = load_catalog().get(seed.lm_eval) if hasattr(seed, "lm_eval") else None
        result = normalise(loaded.spec, info, read())
    except SeedDataError as exc:  # a sampled row that cannot be read (`1e400`): an error, as fetch
        from tsqa.compile.saved import PlanError

        raise PlanError(f"{exc}") from None
    except Exception as exc:  # noqa: BLE001 - estimates fall back to template-only token counts
        notes.append(f"no seed sample for prompt tokens: {exc}")
        return []
    if result.failures and not result.records:  # `fields: {question: "{{ 1/0 }}"}`: apply would fail every row
        from tsqa.compile.saved import PlanError

        ref = loaded.ref(("fields",), prefer_key=True)
        raise PlanError(
            f"{ref.file}:{ref.pos.line}:{ref.pos.col}: error[seed-render] every one of {len(result.failures)} "
            f"sampled seed records fails to normalise; first: {result.failures[0].reason[:300]}"
        )
    return [prompt_variables(r) for r in result.records]


def prompt_variables(record: Any) -> dict[str, Any]:
    """A normalised record as the variables prompts see."""
    options = getattr(record, "options", None)
    index = getattr(record, "answer_index", None)
    return {
        "seed_id": str(getattr(record, "seed_id", "")),
        "question": getattr(record, "question", ""),
        "choices": list(options) if options else [],
        "answer": index if index is not None else getattr(record, "answer_text", ""),
        "answer_text": getattr(record, "answer_text", ""),
        "context": getattr(record, "context", None),
    }


def _from_files(loaded: LoadedSpec) -> int | None:
    try:
        from tsqa.seeds.store import seed_rows_without_fetch
    except ImportError:
        return None
    from tsqa.compile.saved import PlanError
    from tsqa.seeds.errors import SeedDataError

    try:
        return seed_rows_without_fetch(loaded.spec, loaded.path.parent)
    except SeedDataError as exc:  # a broken line is not a row: the count would be wrong
        raise PlanError(f"{exc}") from None
    except Exception:  # noqa: BLE001 - missing files are reported by `seeds fetch`; here: unknown
        return None
