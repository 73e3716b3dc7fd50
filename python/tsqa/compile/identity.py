"""The one model identity: what determines a model's outputs (engine kind, weights, revision,
numerics), never how it is reached (endpoint, concurrency, timeouts, workers).

It enters the fingerprints of model stages and the key of every cached response, so the two can
never disagree about whether a call has been made before. It is computed from the model *as
declared* in tsqa.yaml (a relative local path stays relative), so moving a project keeps its cache.
"""

from __future__ import annotations

from typing import Any

from tsqa.spec.models.project import OpenAIModel, VllmModel


def model_identity(model: VllmModel | OpenAIModel) -> dict[str, Any]:
    identity: dict[str, Any] = {"engine": model.engine, "model": model.model, "revision": model.revision}
    if isinstance(model, VllmModel):
        identity |= {"tokenizer": model.tokenizer, "dtype": model.dtype}
    return identity


def identity_label(model: VllmModel | OpenAIModel) -> str:
    """Short human form, for waves and reports."""
    return f"{model.model}@{model.revision or 'default'}"
