"""The one check every seed read passes: only training data, never a validation or test split.

`check_training_only` runs inside `read_split` (load.py) and `SeedStore.read`, below anything a
spec controls, so no spec can reach eval data: not by split name (`test`), not by an alias
(`dev`, `validation_matched`, `test[:50%]`, `train+test`), not by a task whose "training" split is
its own test split (gpqa), not by naming the same hub dataset directly (`hf:`), not by file names
(`test.jsonl`, `validation-00000-of-00001.parquet`). Lint reports the same mistakes earlier, with
positions; this guard is what actually holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath

from tsqa.lint.rules.seeds import (
    is_eval_split_name,  # one definition of "named like eval data"
)
from tsqa.seeds.catalog import Catalog
from tsqa.seeds.errors import EvalSplitRefused, SeedError
from tsqa.seeds.source import ResolvedSeed

_SLICE = re.compile(r"\[[^\]]*\]$")


def split_parts(split: str) -> list[str]:
    """The split names in a `datasets` split expression: "train[:10%]+test" → ["train", "test"].

    >>> split_parts("train[:10%]+ test")
    ['train', 'test']
    """
    return [_SLICE.sub("", part).strip() for part in split.split("+")]


def check_training_only(seed: ResolvedSeed, catalog: Catalog, files: Iterable[PurePath] = ()) -> None:
    """Raise EvalSplitRefused unless `seed` reads training data only; SeedError if unknowable."""
    parts = split_parts(seed.split)
    for part in parts:
        if not part:
            raise EvalSplitRefused(f"task {seed.task!r}: empty split name in {seed.split!r}")
        if is_eval_split_name(part):
            raise EvalSplitRefused(
                f"task {seed.task!r}: split {seed.split!r} is an evaluation split; seeds read training data only"
            )
    if seed.kind == "lm_eval":
        _check_lm_eval(seed, parts, catalog)
    if seed.kind in ("lm_eval", "hf") and seed.dataset_path:
        evals = catalog.dataset_eval_splits(seed.dataset_path, seed.dataset_name)
        for part in parts:
            if part in evals:
                raise EvalSplitRefused(
                    f"task {seed.task!r}: split {part!r} of {seed.dataset_path}"
                    + (f" ({seed.dataset_name})" if seed.dataset_name else "")
                    + " is evaluated on by lm-eval; seeds read training data only"
                )
    if seed.kind == "files":
        for path in [*map(PurePath, seed.files), *files]:
            _check_file_name(seed, path)


def _check_lm_eval(seed: ResolvedSeed, parts: list[str], catalog: Catalog) -> None:
    info = catalog.get(seed.lm_eval_task or "")
    if info is None:
        raise SeedError(f"task {seed.task!r}: lm-eval has no task {seed.lm_eval_task!r}")
    train = info.training_split
    if train is None:
        raise EvalSplitRefused(f"task {seed.task!r}: lm-eval task {info.name!r} declares no training split")
    if train in info.eval_splits:
        raise EvalSplitRefused(
            f"task {seed.task!r}: lm-eval task {info.name!r} uses its eval split {train!r} as its training split"
        )
    for part in parts:
        if part != train:
            raise EvalSplitRefused(
                f"task {seed.task!r}: split {part!r} is not the training split {train!r} of lm-eval task {info.name!r}"
            )


def _check_file_name(seed: ResolvedSeed, path: PurePath) -> None:
    # Every folder and the file stem, and an HF shard's split prefix ("test-00000-of-00001").
    names = [p for p in path.parts[:-1] if p not in ("..", ".", path.anchor)]
    stem = path.name.split(".")[0]
    names += [stem, stem.split("-")[0]]
    for name in names:
        if is_eval_split_name(name):
            raise EvalSplitRefused(
                f"task {seed.task!r}: {path} is named like evaluation data ({name!r}); seeds read training data only"
            )
