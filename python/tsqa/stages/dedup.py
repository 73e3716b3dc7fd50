"""Dedup the enriched questions: exact, then MinHash/LSH near-duplicates (Rust core), within each
task, across the tasks that ask for it, and against every task's seed questions.

Duplicates are decided per question (all enrichment variants of a question share it) on the
question text with its options; the kept member of a near-duplicate cluster is the one with the
highest vote agreement (ties: the first). A question dropped here drops all its variant rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa

from tsqa.compile.stages import Stage
from tsqa.spec.models import TaskSpec
from tsqa.stages.base import Filtered, FingerprintContext, Kind, StageDef, StageError
from tsqa.stages.schema import SCHEMAS, rejects_from

if TYPE_CHECKING:
    from tsqa.curate.neardup import MinHashIndex

Rows = list[dict[str, Any]]
GroupKey = tuple[Any, ...]


def group_key(spec: TaskSpec) -> GroupKey | None:
    """Tasks with the same key are deduplicated as one corpus: every task that dedups across tasks
    with the same parameters shares one; any other task is alone. None: dedup is off."""
    d = spec.dedup
    if not d.enabled:
        return None
    params = (d.threshold, d.num_perm, d.ngram, d.shingle, "seeds" in d.against)
    return (*params, "tasks") if shares_corpus(spec) else (*params, spec.task)


def shares_corpus(spec: TaskSpec) -> bool:
    return spec.dedup.enabled and "tasks" in spec.dedup.against


class DedupStage(StageDef):
    stage = Stage.DEDUP
    kind = Kind.GROUP
    reads = Stage.ENRICH
    schema = SCHEMAS["dedup"]
    keep_rate = True
    keeps_rows = False  # decontaminate and package read them in the same pass

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # The peers' enrich fingerprints: regenerating one task re-dedups the tasks it shares a corpus with.
        return {**spec.dedup.model_dump(mode="json"), "peers": ctx.dedup_peers}

    def verdicts(
        self,
        tasks: Mapping[str, tuple[TaskSpec, Source, Source]],
        index_files: Mapping[str, list[Path]],
        save_dir: Path | None,
    ) -> dict[str, dict[str, tuple[str, str]]]:
        """Which questions each task drops, and why. `tasks`: name → (spec, its enriched rows'
        QUESTION_COLUMNS, its normalised seeds' SEED_COLUMNS), each a table or a function returning
        its shards, for every task dedup reads."""
        return find_duplicates(tasks, index_files, save_dir=save_dir)

    def apply(self, rows: pa.Table, dropped: Mapping[str, tuple[str, str]]) -> Filtered:
        """One shard of a task's enriched rows with its verdicts: every variant row of a dropped
        question is rejected with the question's reason."""
        import pyarrow.compute as pc

        if not dropped:
            return Filtered(rows)
        ids = rows.column("question_id")
        mask = pc.is_in(ids, value_set=pa.array(list(dropped), pa.string()))
        if not pc.any(mask).as_py():  # no copy of the rows when none goes
            return Filtered(rows)
        gone = rows.filter(mask)
        verdicts = [dropped[q] for q in gone.column("question_id").to_pylist()]
        return Filtered(
            rows.filter(pc.invert(mask)),
            rejects_from(
                pc.binary_join_element_wise(gone.column("question_id"), gone.column("variant"), "/"),
                [v[0] for v in verdicts],
                [v[1] for v in verdicts],
            ),
        )

    def replay(self, rows: pa.Table, rejected: pa.Array) -> pa.Table:
        """The rows `apply` kept, from the ids of the rows it rejected (its rejects' `id`): how a
        later pass gets them again without comparing every task's questions again."""
        import pyarrow.compute as pc

        if not len(rejected):
            return rows
        ids = pc.binary_join_element_wise(rows.column("question_id"), rows.column("variant"), "/")
        return rows.filter(pc.invert(pc.is_in(ids, value_set=rejected)))


QUESTION_COLUMNS = ["question_id", "question", "options", "agreement"]
SEED_COLUMNS = ["question", "options"]


def question_key(row: dict[str, Any]) -> str:
    return " ".join([row["question"], *(row.get("options") or [])])


def question_keys(table: pa.Table) -> pa.ChunkedArray:
    """`question_key` of every row, computed on the columns: the question, then its options."""
    import pyarrow.compute as pc

    options = table.column("options")
    joined = pc.binary_join(options, " ")
    joined = pc.if_else(pc.fill_null(pc.greater(pc.list_value_length(options), 0), False), joined, None)
    return pc.binary_join_element_wise(table.column("question"), joined, " ", null_handling="skip")


class DedupIndexError(StageError):
    """A saved dedup index that cannot be used (missing, damaged, other parameters)."""


Shards: TypeAlias = Callable[[], Iterable[pa.Table]]
"""The shards of one table, read again at each call (dedup streams the questions several times)."""
Source: TypeAlias = pa.Table | Shards


def shards_of(source: Source) -> Iterator[pa.Table]:
    return iter([source]) if isinstance(source, pa.Table) else iter(source())


_REASONS = {1: "exact_duplicate", 2: "duplicate_of_seed", 3: "near_duplicate"}


def find_duplicates(
    tasks: Mapping[str, tuple[TaskSpec, Source, Source]],
    index_files: Mapping[str, list[Path]] | None = None,
    save_dir: Path | None = None,
) -> dict[str, dict[str, tuple[str, str]]]:
    """`tasks`: name → (spec, its enriched rows, its normalised seeds), each a table or a function
    returning its shards (QUESTION_COLUMNS / SEED_COLUMNS at least; every variant row of a question
    carries the question); `index_files`: name → saved indexes of earlier runs to dedup against
    (`against: [index]`). Returns name → question id → (reason, detail) of each dropped question.
    With `save_dir`, the kept questions of each parameter set are saved there as an index that
    later runs can name in `dedup.index`.

    Memory: a few bytes per question (the Rust core spills band keys to temporary files, see
    rust/src/spill.rs; with `save_dir`, each question's MinHash signature too) and the verdicts;
    never the rows nor the texts. The shards are read up to three times: keys, candidate texts,
    the dropped questions' ids (and once per earlier index named in `dedup.index`)."""
    import tempfile

    import numpy as np
    import pyarrow.compute as pc

    from tsqa import _native

    index_files = index_files or {}
    out: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in tasks}
    groups: dict[GroupKey, list[str]] = {}
    for name in sorted(tasks):
        key = group_key(tasks[name][0])
        if key is not None:
            groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        threshold, num_perm, ngram, shingle, with_seeds = key[:5]
        params = {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "shingle": shingle}
        with tempfile.TemporaryDirectory(prefix="tsqa-dedup-") as tmp:
            dd = _native.StreamDedup(tmp, **params)
            if save_dir is not None:  # the saved index reuses add_questions' signatures
                dd.keep_signatures()
            takes: list[Any] = []  # per shard, in order: the positions of its questions' first rows
            starts = []  # the first row of each task in the group
            for name in names:
                dd.next_task()
                starts.append(len(dd))
                for shard in shards_of(tasks[name][1]):
                    scores = pc.fill_null(shard.column("agreement"), 0.0).to_numpy().astype(np.float64)
                    takes.append(dd.add_questions(shard.column("question_id"), question_keys(shard), scores))
            if not len(dd):
                continue

            def unique(columns: Callable[[pa.Table], Any], names: list[str] = names, takes: list[Any] = takes) -> Any:
                """(first row, column of the shard's questions) for every shard, in row order."""
                row, shards = 0, iter(takes)
                for name in names:
                    for shard in shards_of(tasks[name][1]):
                        take = next(shards)
                        yield row, columns(shard).take(pa.array(take))
                        row += len(take)

            if with_seeds:
                for name in names:
                    for shard in shards_of(tasks[name][2]):
                        dd.add_seeds(question_keys(shard))
            need_questions, need_seeds = dd.resolve()
            if need_questions:
                for row, texts in unique(question_keys):
                    dd.feed_questions(row, texts)
            if need_seeds:
                row = 0
                for name in names:
                    for shard in shards_of(tasks[name][2]):
                        dd.feed_seeds(row, question_keys(shard))
                        row += shard.num_rows
            rows, reasons, other = dd.finish()
            verdicts = {int(r): (int(why), int(o)) for r, why, o in zip(rows, reasons, other, strict=True)}
            in_index: dict[int, str] = {}  # row → detail, for rows an earlier run's index holds
            for path in sorted(
                {p for name in names if "index" in tasks[name][0].dedup.against for p in index_files.get(name, [])}
            ):
                earlier = _load_index(path, params)
                for row, texts in unique(question_keys):
                    matches = earlier.matches(texts, threshold=threshold)
                    for j in np.flatnonzero(matches >= 0).tolist():
                        if row + j not in verdicts and row + j not in in_index:
                            in_index[row + j] = f"near-duplicate of record #{matches[j]} of {path.name}"
            if save_dir is not None:
                save_dir.mkdir(parents=True, exist_ok=True)
                target = save_dir / index_file_name(params)
                partial = target.with_name(f"{target.name}.partial")  # a kill leaves no half index
                earlier_rows = np.array(sorted(in_index), dtype=np.uint32)
                dd.begin_save(str(partial), earlier_rows)
                dd.save_spilled()
                dd.end_save()
                partial.replace(target)
            # The question ids of the dropped questions and of those they duplicate.
            wanted = np.array(
                sorted(set(verdicts) | set(in_index) | {o for why, o in verdicts.values() if why in (1, 3)}), np.int64
            )
            qids: dict[int, str] = {}
            for row, ids in unique(lambda shard: shard.column("question_id")) if len(wanted) else ():
                hit = wanted[np.searchsorted(wanted, row) : np.searchsorted(wanted, row + len(ids))]
                qids.update(zip(hit.tolist(), ids.take(pa.array(hit - row)).to_pylist(), strict=True))

        def task_of(row: int, names: list[str] = names, starts: list[int] = starts) -> str:
            return names[bisect.bisect_right(starts, row) - 1]

        for row, (why, o) in verdicts.items():
            if why == 2:
                detail = f"near-duplicate of seed question #{o}"
            else:
                detail = f"{'same text as' if why == 1 else 'near-duplicate of'} {task_of(o)}/{qids[o]}"
            out[task_of(row)][qids[row]] = (_REASONS[why], detail)
        for row, detail in in_index.items():
            out[task_of(row)][qids[row]] = ("duplicate_of_index", detail)
    return out


def index_file_name(params: dict[str, Any]) -> str:
    return f"questions-t{params['threshold']}-p{params['num_perm']}-n{params['ngram']}-{params['shingle']}.index"


def _load_index(path: Path, params: dict[str, Any]) -> MinHashIndex:
    from tsqa.curate import NativeError
    from tsqa.curate.neardup import MinHashIndex
    from tsqa.seeds.guard import system_path

    if (step := system_path(path)) is not None:  # lint refuses it too (index-file-unsafe)
        raise DedupIndexError(f"dedup index {path}: goes through {step}, a system path (/proc, /dev, /sys)")
    try:
        return MinHashIndex.load(path, **params)
    except (NativeError, OSError) as exc:
        raise DedupIndexError(f"dedup index {path}: {exc}") from None
