"""Sampling parameters, as vLLM and OpenAI-compatible servers understand them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tsqa.spec.models.common import SpecModel


class Sampling(SpecModel):
    temperature: Annotated[float, Field(ge=0.0, le=5.0)] = 0.8
    """Softmax temperature; 0 is greedy."""
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 0.95
    """Nucleus sampling mass."""
    top_k: Annotated[int, Field(ge=-1)] = -1
    """-1 disables top-k."""
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    """Hard cap on generated tokens (vLLM's own default of 16 is never used)."""
    seed: int = 0
    """Base seed; each record derives its own from it for reproducibility."""
    stop: list[str] = []
    """Strings that end generation."""
