"""Engines from the project's model configs, loaded once per apply and shared by every stage.

    with EnginePool(project.models) as engines:
        for result in engines.get("generator").run(requests): ...

A vLLM model takes seconds to minutes to load and holds the accelerator's memory, so the pool
creates each engine on first use, keeps it for all later stages and tasks, and closes all of them
at exit (`release(name)` frees one early, e.g. before loading a different model on the same GPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Self

from tsqa.engines.base import Engine, EngineError

EngineFactory = Callable[[Any], Engine]


def create_engine(config: Any, *, seed: int = 0) -> Engine:
    """An engine for one `models:` entry of tsqa.yaml (`VllmModel` or `OpenAIModel`)."""
    if config.engine == "vllm":
        from tsqa.engines.vllm_engine import VllmEngine

        return VllmEngine(
            config.model,
            tokenizer=config.tokenizer,
            dtype=config.dtype,
            max_model_len=config.max_model_len,
            seed=seed,
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            max_num_seqs=config.max_num_seqs,
            enable_prefix_caching=config.enable_prefix_caching,
            enforce_eager=config.enforce_eager,
            chunk_size=config.chunk_size,
            revision=config.revision,
        )
    if config.engine == "openai":
        from tsqa.engines.openai_engine import OpenAIEngine

        api_key = None
        if config.api_key_env:
            api_key = os.environ.get(config.api_key_env)
            if not api_key:
                raise EngineError(f"environment variable {config.api_key_env} (api_key_env) is not set")
        return OpenAIEngine(
            config.base_url,
            config.model,
            api_key=api_key,
            max_concurrency=config.max_concurrency,
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
        )
    raise EngineError(f"unknown engine {config.engine!r}")


class EnginePool:
    """Named engines, each created once on first `get` and closed by `close()` / the with-block."""

    def __init__(self, models: Mapping[str, Any], factory: EngineFactory = create_engine) -> None:
        self._models = dict(models)
        self._factory = factory
        self._engines: dict[str, Engine] = {}

    def get(self, name: str) -> Engine:
        engine = self._engines.get(name)
        if engine is None:
            if name not in self._models:
                raise EngineError(f"no model named {name!r} (known: {sorted(self._models)})")
            engine = self._engines[name] = self._factory(self._models[name])
        return engine

    def loaded(self) -> list[str]:
        return list(self._engines)

    def release(self, name: str) -> None:
        engine = self._engines.pop(name, None)
        if engine is not None:
            engine.close()

    def close(self) -> None:
        while self._engines:
            self.release(next(iter(self._engines)))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
