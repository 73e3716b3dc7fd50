"""Rules about where seed data comes from: only training splits, never eval data."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.rules.base import LintContext, rule
from tsqa.seeds.guard import split_problem
from tsqa.spec.load import LoadedSpec
from tsqa.spec.models import FilesSeed, HfSeed, LmEvalSeed
from tsqa.spec.yaml_source import PathKey


def is_eval_split_name(split: str) -> bool:
    """Named like eval data: tokens after Unicode folding (see tsqa.seeds.names)."""
    from tsqa.seeds.names import is_eval_name

    return is_eval_name(split)


@rule("unknown-task")
def unknown_task(ctx: LintContext) -> Iterator[Diagnostic]:
    """An `lm_eval:` seed names a task that the lm-eval registry does not have.

    Why: the task's dataset config and field rules come from the registry; a typo would fail
    only when `apply` starts.

    Example: `seed: {lm_eval: arc_chalenge}` → did you mean `arc_challenge`?
    """
    if ctx.catalog is None:
        return
    for loaded in ctx.specs:
        seed = loaded.spec.seed
        if isinstance(seed, LmEvalSeed) and ctx.catalog.get(seed.lm_eval) is None:
            close = difflib.get_close_matches(seed.lm_eval, [t.name for t in ctx.catalog], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            yield loaded.diagnostic(("seed", "lm_eval"), "unknown-task", f"lm-eval has no task {seed.lm_eval!r}{hint}")


@rule("no-training-split")
def no_training_split(ctx: LintContext) -> Iterator[Diagnostic]:
    """The lm-eval task declares no training split, so it has no data that may seed generation.

    Why: its only data is validation/test (or few-shot) data, which must never become seed data.

    Example: `seed: {lm_eval: mmlu_anatomy}` (mmlu has only dev/validation/test in lm-eval).
    """
    if ctx.catalog is None:
        return
    for loaded in ctx.specs:
        seed = loaded.spec.seed
        if not isinstance(seed, LmEvalSeed):
            continue
        info = ctx.catalog.get(seed.lm_eval)
        if info is not None and info.training_split is None:
            yield loaded.diagnostic(
                ("seed", "lm_eval"),
                "no-training-split",
                f"task {seed.lm_eval!r} declares no training split in lm-eval; it cannot seed generation",
            )


@rule("training-split-is-eval")
def training_split_is_eval(ctx: LintContext) -> Iterator[Diagnostic]:
    """The task's "training" split is one of its own eval splits (test or validation).

    Why: seeding from it would turn the benchmark's eval data into training data. lm-eval has such
    tasks (gpqa, aime, gsm8k_platinum, gsm_plus …) because they only ship a test set.

    Example: `seed: {lm_eval: gpqa_main_zeroshot}` → gpqa's training_split is its test split.
    """
    if ctx.catalog is None:
        return
    for loaded in ctx.specs:
        seed = loaded.spec.seed
        if not isinstance(seed, LmEvalSeed):
            continue
        info = ctx.catalog.get(seed.lm_eval)
        if info is not None and info.training_split is not None and info.training_split in info.eval_splits:
            yield loaded.diagnostic(
                ("seed", "lm_eval"),
                "training-split-is-eval",
                f"task {seed.lm_eval!r} uses its eval split {info.training_split!r} as its training split; "
                "it cannot seed generation",
            )


@rule("seed-split-not-training")
def seed_split_not_training(ctx: LintContext) -> Iterator[Diagnostic]:
    """The seed split is not the task's training split (or, for files and hf seeds, is named like
    an eval split: test, validation, dev …).

    Why: eval data must never become seed data. Leave `split` out to use the training split. A
    split is one plain name: `datasets` split expressions (`train+test`, `train[:50%]`, `all`)
    can mix eval splits in, so they are refused too.

    Example: `seed: {lm_eval: arc_easy, split: test}` → expected 'train'.
    """
    for loaded in ctx.specs:
        seed = loaded.spec.seed
        written = seed.hf.split if isinstance(seed, HfSeed) else seed.split
        if written is not None and (problem := split_problem(written)):
            where: PathKey = ("seed", "hf", "split") if isinstance(seed, HfSeed) else ("seed", "split")
            yield loaded.diagnostic(where, "seed-split-not-training", problem)
            continue
        if isinstance(seed, LmEvalSeed) and seed.split is not None:
            info = ctx.catalog.get(seed.lm_eval) if ctx.catalog is not None else None
            if info is not None and info.training_split is not None and seed.split != info.training_split:
                yield loaded.diagnostic(
                    ("seed", "split"),
                    "seed-split-not-training",
                    f"expected the task's training split {info.training_split!r}, found {seed.split!r}",
                )
            elif info is None and is_eval_split_name(seed.split):
                yield _eval_named(loaded, ("seed", "split"), seed.split)
        elif isinstance(seed, FilesSeed) and is_eval_split_name(seed.split):
            yield _eval_named(loaded, ("seed", "split"), seed.split)
        elif isinstance(seed, HfSeed) and is_eval_split_name(seed.hf.split):
            yield _eval_named(loaded, ("seed", "hf", "split"), seed.hf.split)


def _eval_named(loaded: LoadedSpec, path: PathKey, split: str) -> Diagnostic:
    return loaded.diagnostic(
        path, "seed-split-not-training", f"expected a training split, found the eval split name {split!r}"
    )


@rule("missing-license", Severity.WARNING)
def missing_license(ctx: LintContext) -> Iterator[Diagnostic]:
    """The seed declares no licence.

    Why: the output is training data; its provenance must say under which licence the seeds were
    used, and a licence-compatible blend needs to know.

    Example: add `license: cc-by-sa-4.0` under `seed:`.
    """
    for loaded in ctx.specs:
        if loaded.spec.seed.license is None:
            yield loaded.diagnostic(
                ("seed",),
                "missing-license",
                "no licence declared for the seed data (seed.license)",
                Severity.WARNING,
                prefer_key=True,
            )
