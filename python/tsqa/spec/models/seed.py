"""Where a task's seed records come from. Exactly one source key picks the kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from tsqa.spec.models.common import Name, SpecModel

_SOURCE_KEYS = ("lm_eval", "files", "hf")


class _SeedCommon(SpecModel):
    limit: Annotated[int, Field(ge=1)] | None = None
    """Use at most this many seed rows (first rows of the split, in dataset order)."""
    license: str | None = None
    """SPDX id of the seed data's licence, recorded in the output's provenance."""
    columns: list[str] | None = None
    """The dataset's column names, when known, so lint can check field templates against them."""


class LmEvalSeed(_SeedCommon):
    lm_eval: Name
    """An lm-eval-harness task name; its dataset config and field rules are used."""
    split: str | None = None
    """Must be the task's training split; omitted means exactly that."""


class FilesSeed(_SeedCommon):
    files: Annotated[
        Annotated[Annotated[str, Field(min_length=1)], Tag("files:one")]
        | Annotated[Annotated[list[str], Field(min_length=1)], Tag("files:many")],
        Discriminator(
            _files_kind,
            custom_error_type="files",
            custom_error_message="expected a path or a list of paths",
        ),
    ]
    """JSONL, JSON or Parquet files (globs allowed), relative to the spec file."""
    split: str = "train"
    """What these files are; eval split names are refused."""
    file_format: Literal["jsonl", "json", "parquet"] | None = None
    """Inferred from the file extension when omitted."""


class HfDataset(SpecModel):
    path: Annotated[str, Field(min_length=1)]
    """Hub dataset id or local dataset folder."""
    name: str | None = None
    """Dataset config name."""
    revision: str | None = None
    """Commit, tag or branch to pin."""
    split: str = "train"
    """The training split; eval split names are refused."""


class HfSeed(_SeedCommon):
    hf: HfDataset
    """A Hugging Face dataset (only its training split is read)."""


def _source_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [k for k in _SOURCE_KEYS if k in value]
        return f"seed:{present[0]}" if len(present) == 1 else None
    if isinstance(value, _SeedCommon):
        return next(f"seed:{k}" for k in _SOURCE_KEYS if hasattr(value, k))
    return None


def _files_kind(value: Any) -> str | None:
    return "files:one" if isinstance(value, str) else "files:many" if isinstance(value, list) else None


SeedSource = Annotated[
    Annotated[LmEvalSeed, Tag("seed:lm_eval")]
    | Annotated[FilesSeed, Tag("seed:files")]
    | Annotated[HfSeed, Tag("seed:hf")],
    Discriminator(
        _source_kind,
        custom_error_type="seed_source",
        custom_error_message="expected exactly one of the keys 'lm_eval', 'files' or 'hf'",
    ),
]
