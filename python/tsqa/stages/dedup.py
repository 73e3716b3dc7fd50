"""Dedup the enriched questions: exact, then MinHash/LSH near-duplicates (Rust core), within each
task, across the tasks that ask for it, and against every task's seed questions.

Duplicates are decided per question (all enrichment variants of a question share it) on the
question text with its options; the kept member of a near-duplicate cluster is the one with the
highest vote agreement (ties: the first). A question dropped here drops all its variant rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

    def fingerprint_inputs(self, spec: TaskSpec, ctx: FingerprintContext) -> dict[str, Any]:
        # The peers' enrich fingerprints: regenerating one task re-dedups the tasks it shares a corpus with.
        return {**spec.dedup.model_dump(mode="json"), "peers": ctx.dedup_peers}

    def verdicts(
        self,
        tasks: Mapping[str, tuple[TaskSpec, pa.Table, pa.Table]],
        index_files: Mapping[str, list[Path]],
        save_dir: Path | None,
    ) -> dict[str, dict[str, tuple[str, str]]]:
        """Which questions each task drops, and why. `tasks`: name → (spec, its enriched rows'
        QUESTION_COLUMNS, its normalised seeds' SEED_COLUMNS) for every task dedup reads."""
        return find_duplicates(
            {name: (spec, unique_questions(rows), seeds) for name, (spec, rows, seeds) in tasks.items()},
            dict(index_files),
            save_dir=save_dir,
        )

    def apply(self, rows: pa.Table, dropped: Mapping[str, tuple[str, str]]) -> Filtered:
        """One shard of a task's enriched rows with its verdicts: every variant row of a dropped
        question is rejected with the question's reason."""
        import pyarrow.compute as pc

        if not dropped:
            return Filtered(rows)
        ids = rows.column("question_id")
        mask = pc.is_in(ids, value_set=pa.array(list(dropped), pa.string()))
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


def unique_questions(rows: pa.Table) -> pa.Table:
    """The first row of each question (its variant rows share question, options and agreement)."""
    import numpy as np
    import pyarrow.compute as pc

    ids = rows.column("question_id")
    first = pc.index_in(pc.unique(ids), value_set=ids).to_numpy()
    return rows.take(pa.array(np.sort(first)))


class DedupIndexError(StageError):
    """A saved dedup index that cannot be used (missing, damaged, other parameters)."""


def find_duplicates(
    tasks: dict[str, tuple[TaskSpec, pa.Table, pa.Table]],
    index_files: dict[str, list[Path]] | None = None,
    save_dir: Path | None = None,
) -> dict[str, dict[str, tuple[str, str]]]:
    """`tasks`: name → (spec, unique questions, normalised seeds), as Arrow columns; `index_files`:
    name → saved indexes of earlier runs to dedup against (`against: [index]`). Returns name →
    question id → (reason, detail) of each dropped question. With `save_dir`, the kept questions of
    each parameter set are saved there as an index that later runs can name in `dedup.index`.

    Memory: the question texts of one group (Arrow) and the verdicts; never the rows."""
    import numpy as np
    import pyarrow.compute as pc

    from tsqa.curate.exact import exact_dedup
    from tsqa.curate.neardup import build_index, near_dedup

    index_files = index_files or {}
    out: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in tasks}
    groups: dict[GroupKey, list[str]] = {}
    for name in sorted(tasks):
        key = group_key(tasks[name][0])
        if key is not None:
            groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        threshold, num_perm, ngram, shingle, with_seeds = key[:5]
        parts = [tasks[name][1] for name in names]
        if not sum(p.num_rows for p in parts):
            continue
        texts = pa.chunked_array([question_keys(p) for p in parts], pa.string()).combine_chunks()
        owner = np.repeat(np.arange(len(names)), [p.num_rows for p in parts])
        qids = pa.chunked_array([p.column("question_id") for p in parts], pa.string()).to_pylist()
        scores_all = np.concatenate([pc.fill_null(p.column("agreement"), 0.0).to_numpy() for p in parts])
        dropped: dict[int, tuple[str, str]] = {}  # position in the group → (reason, detail)

        def uid(i: int, names: list[str] = names, owner: Any = owner, qids: list[str] = qids) -> str:
            return f"{names[owner[i]]}/{qids[i]}"

        first = np.asarray(exact_dedup(texts).first_index)
        for i in np.flatnonzero(first != np.arange(len(first))).tolist():
            dropped[i] = ("exact_duplicate", f"same text as {uid(int(first[i]))}")
        index = None
        if with_seeds:
            seeds = [question_keys(tasks[name][2]) for name in names if tasks[name][2].num_rows]
            if seeds:
                seed_texts = pa.chunked_array(seeds, pa.string()).combine_chunks()
                index = build_index(seed_texts, threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle)
        # Near duplicates among the exact survivors only: a representative is never a row that
        # exact dedup already dropped (that would drop the whole cluster).
        alive = np.flatnonzero(first == np.arange(len(first)))
        near = near_dedup(
            texts.take(pa.array(alive)),
            threshold=threshold,
            num_perm=num_perm,
            ngram=ngram,
            shingle=shingle,
            scores=scores_all[alive].astype(np.float64),
            index=index,
        )
        dup_of, seed_match = np.asarray(near.duplicate_of), np.asarray(near.index_match)
        for j in np.flatnonzero((dup_of >= 0) | (seed_match >= 0)).tolist():
            i = int(alive[j])
            if seed_match[j] >= 0:
                dropped[i] = ("duplicate_of_seed", f"near-duplicate of seed question #{seed_match[j]}")
            else:
                dropped[i] = ("near_duplicate", f"near-duplicate of {uid(int(alive[dup_of[j]]))}")
        params = {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "shingle": shingle}
        for path in sorted(
            {p for name in names if "index" in tasks[name][0].dedup.against for p in index_files.get(name, [])}
        ):
            earlier = _load_index(path, params)
            matches = np.asarray(near_dedup(texts, index=earlier, **params).index_match)
            for i in np.flatnonzero(matches >= 0).tolist():
                if i not in dropped:
                    dropped[i] = ("duplicate_of_index", f"near-duplicate of record #{matches[i]} of {path.name}")
        if save_dir is not None:
            keep = np.ones(len(texts), dtype=bool)
            keep[list(dropped)] = False
            save_dir.mkdir(parents=True, exist_ok=True)
            build_index(texts.filter(pa.array(keep)), **params).save(save_dir / index_file_name(params))
        for i, verdict in dropped.items():
            out[names[owner[i]]][qids[i]] = verdict
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
