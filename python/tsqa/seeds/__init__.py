"""Seed sources: the lm-eval task catalogue, training-split loading behind the eval-split
guard, the seed store, and normalisation into SeedRecords.

The catalogue names import eagerly (lint needs them, fast); the data-reading names import on
first use, so `tsqa lint` never pays for pyarrow or datasets.
"""

from importlib import import_module
from typing import Any

from tsqa.seeds.catalog import (
    Catalog,
    CatalogCounts,
    CatalogError,
    build_catalog,
    load_catalog,
)
from tsqa.seeds.groups import SEED_GROUPS, family_group
from tsqa.seeds.model import OUTPUT_TYPES, TaskInfo

# name → module, imported on first attribute access (PEP 562)
_LAZY = {
    "EvalSplitRefused": "errors",
    "SeedDataError": "errors",
    "SeedError": "errors",
    "SeedNotFetched": "errors",
    "ResolvedSeed": "source",
    "resolve_seed": "source",
    "check_training_only": "guard",
    "read_split": "load",
    "SeedMeta": "store",
    "SeedStore": "store",
    "seed_rows_without_fetch": "store",
    "NormaliseFailure": "record",
    "NormaliseResult": "record",
    "SeedRecord": "record",
    "records_to_table": "record",
    "normalise": "normalise",
    "TaskRules": "model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"tsqa.seeds.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tsqa.seeds' has no attribute {name!r}")


__all__ = [  # noqa: PLE0604 - the lazy names are strings too
    *_LAZY,
    "OUTPUT_TYPES",
    "SEED_GROUPS",
    "Catalog",
    "CatalogCounts",
    "CatalogError",
    "TaskInfo",
    "build_catalog",
    "family_group",
    "load_catalog",
]
