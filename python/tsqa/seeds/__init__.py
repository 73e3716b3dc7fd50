"""Seed sources: the lm-eval task catalogue (and, later, loaders and normalisation)."""

from tsqa.seeds.catalog import (
    Catalog,
    CatalogCounts,
    CatalogError,
    build_catalog,
    load_catalog,
)
from tsqa.seeds.groups import SEED_GROUPS, family_group
from tsqa.seeds.model import OUTPUT_TYPES, TaskInfo

__all__ = [
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
