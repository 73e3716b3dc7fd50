"""Shared building blocks of the spec models."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Bump when the meaning of a spec field changes; fingerprints and saved plans record it.
SPEC_FORMAT_VERSION: Final = 1


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are not coerced across types."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        validate_default=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,  # `.nan` or `.inf` is never a sensible setting (a blend weight of inf)
    )


Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$", max_length=200)]
"""A model, task or group name: letters, digits, `_`, `.`, `-`."""

Template = Annotated[str, StringConstraints(min_length=1)]
"""A Jinja template, rendered in a sandbox."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
