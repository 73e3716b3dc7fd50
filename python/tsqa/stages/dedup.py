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
        """Which questions each task drops, and why. `tasks`: name → (spec, its enriched questions'
        QUESTION_COLUMNS, its normalised seeds' SEED_COLUMNS) for every task dedup reads."""
        return find_duplicates(
            {
                name: (spec, _unique_questions(rows.to_pylist()), seeds.to_pylist())
                for name, (spec, rows, seeds) in tasks.items()
            },
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


class DedupIndexError(StageError):
    """A saved dedup index that cannot be used (missing, damaged, other parameters)."""


def find_duplicates(
    tasks: dict[str, tuple[TaskSpec, Rows, Rows]],
    index_files: dict[str, list[Path]] | None = None,
    save_dir: Path | None = None,
) -> dict[str, dict[str, tuple[str, str]]]:
    """`tasks`: name → (spec, unique questions, normalised seed rows); `index_files`: name → saved
    indexes of earlier runs to dedup against (`against: [index]`). Returns name → question id →
    (reason, detail) of each dropped question. With `save_dir`, the kept questions of each parameter set are saved there as an index that
    later runs can name in `dedup.index`."""
    import numpy as np

    from tsqa.curate.exact import exact_dedup
    from tsqa.curate.neardup import build_index, near_dedup

    index_files = index_files or {}
    dropped: dict[str, tuple[str, str]] = {}  # question uid → (reason, detail)
    groups: dict[GroupKey, list[str]] = {}
    for name in sorted(tasks):
        key = group_key(tasks[name][0])
        if key is not None:
            groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        threshold, num_perm, ngram, shingle, with_seeds = key[:5]
        questions = [(name, q) for name in names for q in tasks[name][1]]
        if not questions:
            continue
        texts = [question_key(q) for _, q in questions]
        uids = [f"{name}/{q['question_id']}" for name, q in questions]
        exact = exact_dedup(texts)
        first = exact.first_index.tolist()
        for i, j in enumerate(first):
            if j != i:
                dropped[uids[i]] = ("exact_duplicate", f"same text as {uids[j]}")
        index = None
        if with_seeds:
            seed_texts = [question_key(s) for name in names for s in tasks[name][2]]
            if seed_texts:
                index = build_index(seed_texts, threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle)
        scores = np.array([q.get("agreement") or 0.0 for _, q in questions], dtype=np.float64)
        near = near_dedup(
            texts, threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle, scores=scores, index=index
        )
        for i, (dup_of, seed_match) in enumerate(
            zip(near.duplicate_of.tolist(), near.index_match.tolist(), strict=True)
        ):
            if uids[i] in dropped:
                continue
            if seed_match >= 0:
                dropped[uids[i]] = ("duplicate_of_seed", f"near-duplicate of seed question #{seed_match}")
            elif dup_of >= 0:
                dropped[uids[i]] = ("near_duplicate", f"near-duplicate of {uids[dup_of]}")
        params = {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "shingle": shingle}
        for path in sorted(
            {p for name in names if "index" in tasks[name][0].dedup.against for p in index_files.get(name, [])}
        ):
            earlier = _load_index(path, params)
            matches = near_dedup(texts, index=earlier, **params).index_match.tolist()
            for i, match in enumerate(matches):
                if match >= 0 and uids[i] not in dropped:
                    dropped[uids[i]] = ("duplicate_of_index", f"near-duplicate of record #{match} of {path.name}")
        if save_dir is not None:
            survivors = [t for t, u in zip(texts, uids, strict=True) if u not in dropped]
            save_dir.mkdir(parents=True, exist_ok=True)
            build_index(survivors, **params).save(save_dir / index_file_name(params))
    out: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in tasks}
    for uid, verdict in dropped.items():
        name, question_id = uid.split("/", 1)
        out[name][question_id] = verdict
    return out


def index_file_name(params: dict[str, Any]) -> str:
    return f"questions-t{params['threshold']}-p{params['num_perm']}-n{params['ngram']}-{params['shingle']}.index"


def _load_index(path: Path, params: dict[str, Any]) -> MinHashIndex:
    from tsqa.curate import NativeError
    from tsqa.curate.neardup import MinHashIndex

    try:
        return MinHashIndex.load(path, **params)
    except (NativeError, OSError) as exc:
        raise DedupIndexError(f"dedup index {path}: {exc}") from None


def _unique_questions(rows: Rows) -> Rows:
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["question_id"], row)
    return list(seen.values())
