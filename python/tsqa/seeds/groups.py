"""The method's two seed groups per lm-eval family, from the reviewable `groups.yaml`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, get_args

from ruamel.yaml import YAML

SeedGroup = Literal["knowledge", "reasoning"]
SEED_GROUPS: tuple[str, ...] = get_args(SeedGroup)
GROUPS_PATH = Path(__file__).parent / "groups.yaml"


@cache
def family_groups() -> dict[str, str]:
    """family → seed group, checked against SEED_GROUPS."""
    raw = YAML(typ="safe").load(GROUPS_PATH.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    for group, families in raw.items():
        if group not in SEED_GROUPS:
            raise ValueError(f"{GROUPS_PATH}: unknown seed group {group!r}; expected one of {SEED_GROUPS}")
        for family in families:
            if family in out:
                raise ValueError(f"{GROUPS_PATH}: family {family!r} is in both {out[family]!r} and {group!r}")
            out[family] = group
    return out


def family_group(family: str) -> str | None:
    """'knowledge' or 'reasoning' for a usable lm-eval family; None when unmapped.

    >>> family_group("arc"), family_group("gsm8k")
    ('knowledge', 'reasoning')
    """
    return family_groups().get(family)
