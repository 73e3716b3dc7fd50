"""Eval texts for decontamination: the one place tsqa reads validation and test splits.

They are read only to be searched, never to seed: `tsqa seeds fetch-eval` stores each eval split
as plain `text` rows (every string field of a record, joined) in the eval store, a folder beside
the seed store that no seed reader opens. `tsqa apply` builds its n-gram contamination index from
every eval split found there, so the outputs of one task are checked against the eval data of all.

    <project>/.tsqa/eval/<dataset key>/<split>.parquet       id, text
    <project>/.tsqa/eval/<dataset key>/<split>.fields.arrow  fields: each record's text fields,
                                                             normalised (content.py compares seeds)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tsqa.seeds.catalog import Catalog
from tsqa.seeds.content import EvalRecords, record_text, text_fields
from tsqa.seeds.errors import ContentRefused, SeedError
from tsqa.seeds.local_data import data_dir_from_env, dataset_folder, split_files
from tsqa.seeds.readers.files import WHERE_COLUMN, read_files
from tsqa.seeds.readers.hub import read_hub_split
from tsqa.spec.models import LmEvalSeed, Project, TaskSpec
from tsqa.store.shards import write_shard

FIELDS_SUFFIX = ".fields.arrow"


@dataclass(frozen=True)
class EvalSplit:
    key: str
    split: str
    rows: int | None
    """None: the local data folder has no file for this split (skipped)."""


class EvalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_project(cls, project_file: Path, project: Project) -> EvalStore:
        return cls((project_file.parent / project.seed_store).parent / "eval")

    def splits(self) -> list[Path]:
        return sorted(self.root.glob("*/*.parquet")) if self.root.is_dir() else []

    def fingerprint(self) -> str:
        """Identifies the stored eval data (every split file and sidecar, by content): a seed
        snapshot records the fingerprint its content check ran against, and is checked again
        only when it changes. Files are hashed once per process per (size, mtime, inode)."""
        h = hashlib.sha256(b"tsqa eval store v1")
        files = sorted(self.root.glob("*/*.parquet")) + sorted(self.root.glob(f"*/*{FIELDS_SUFFIX}"))
        for path in files if self.root.is_dir() else []:
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(str(path.relative_to(self.root)).encode())
            h.update(_file_digest(str(path), st.st_size, st.st_mtime_ns, st.st_ino).encode())
        return h.hexdigest()[:32]

    def texts(self) -> tuple[list[str], list[str]]:
        """(ids, texts) of every stored eval record."""
        ids: list[str] = []
        texts: list[str] = []
        for path in self.splits():
            table = _read_split(path)
            ids += table.column("id").to_pylist()
            texts += table.column("text").to_pylist()
        return ids, texts

    def records(self) -> list[EvalRecords]:
        """Every stored split as EvalRecords (text fields from the sidecar, when written)."""
        out = []
        for path in self.splits():
            table = _read_split(path)
            source = f"eval store {path.parent.name}/{path.stem}"
            ids = [f"{source} record {i + 1}" for i in range(table.num_rows)]
            texts = [t or "" for t in table.column("text").to_pylist()]
            fields: list[list[str]] = [[] for _ in ids]
            sidecar = path.with_suffix(FIELDS_SUFFIX)
            if sidecar.is_file():
                try:
                    with pa.memory_map(str(sidecar)) as mapped:
                        stored = pa.ipc.open_file(mapped).read_all().column("fields").to_pylist()
                except (OSError, KeyError, pa.ArrowException) as err:
                    raise EvalStoreDamaged(f"{sidecar}: {_damaged(err)}") from None
                if len(stored) == len(ids):
                    fields = [list(f or []) for f in stored]
            out.append(EvalRecords(source, ids, texts, fields))
        return out

    def write(self, key: str, split: str, table: pa.Table) -> EvalSplit:
        folder = self.root / key
        rows = [{k: v for k, v in row.items() if k != WHERE_COLUMN} for row in table.to_pylist()]
        texts = [record_text(row) for row in rows]
        out = pa.table({"id": [f"{key}:{split}:{i}" for i in range(len(texts))], "text": texts})
        tmp_folder = folder / f".{split}"
        shard, _ = write_shard(tmp_folder, 0, out)
        fields = pa.table({"fields": pa.array([text_fields(r, keys=False) for r in rows], pa.list_(pa.string()))})
        sidecar_tmp = tmp_folder / f"{split}{FIELDS_SUFFIX}"
        with pa.OSFile(str(sidecar_tmp), "wb") as sink, pa.ipc.new_file(sink, fields.schema) as writer:
            writer.write_table(fields)
        sidecar_tmp.replace(folder / f"{split}{FIELDS_SUFFIX}")
        shard.replace(folder / f"{split}.parquet")
        tmp_folder.rmdir()
        return EvalSplit(key, split, len(texts))


@lru_cache(maxsize=1024)
def _file_digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_split(path: Path) -> pa.Table:
    """One stored eval split (id, text); a damaged file is a message naming it, not a traceback."""
    try:
        table = pq.read_table(path, columns=["id", "text"])
        if not pa.types.is_string(table.schema.field("text").type) and not pa.types.is_large_string(
            table.schema.field("text").type
        ):
            raise EvalStoreDamaged(f"{path}: {_damaged('column text is not text')}")
        return table
    except (OSError, KeyError, pa.ArrowException) as err:
        raise EvalStoreDamaged(f"{path}: {_damaged(err)}") from None


class EvalStoreDamaged(ContentRefused):
    """An eval store file that cannot be read: seed rows cannot be compared with it, so nothing
    that needs the comparison (fetch, plan, apply) goes on."""


def _damaged(err: BaseException | str) -> str:
    first = (str(err).splitlines() or [type(err).__name__])[0] if not isinstance(err, str) else err
    return (
        f"damaged eval store file ({first}): seed rows cannot be compared with eval rows; "
        "run `tsqa seeds fetch-eval` again"
    )


def fetch_eval(
    spec: TaskSpec, catalog: Catalog, store: EvalStore, *, spec_dir: Path, data_dir: Path | None = None
) -> list[EvalSplit]:
    """Store the eval splits of an lm-eval seed's task (other seed kinds declare `eval_files`)."""
    seed = spec.seed
    if not isinstance(seed, LmEvalSeed):
        return []
    info = catalog.get(seed.lm_eval)
    if info is None or info.dataset_path is None:
        raise SeedError(f"task {spec.task!r}: lm-eval has no dataset for {seed.lm_eval!r}")
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{info.dataset_path}:{info.dataset_name or ''}").strip("_")
    data_dir = data_dir or data_dir_from_env()
    folder = dataset_folder(data_dir, info.dataset_path, info.dataset_name) if data_dir else None
    stored = []
    for split in sorted(info.eval_splits):
        if folder is not None:
            try:
                files = split_files(folder, split)
            except SeedError:
                stored.append(EvalSplit(key, split, None))
                continue
            table = read_files(files, None)
        else:
            table = read_hub_split(info.dataset_path, info.dataset_name, split)
        stored.append(store.write(key, split, table))
    return stored
