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

# Config fields that only feed plan estimates, batching or replica count, never what the engine
# computes (replicas produce the same results as one engine).
_PLANNING_FIELDS = {"throughput_tokens_per_s", "workers", "chunk_size"}


def _engine_key(config: Any) -> Any:
    if hasattr(config, "model_dump"):
        return repr(sorted(config.model_dump(mode="json", exclude=_PLANNING_FIELDS).items()))
    return config


def create_engine(config: Any, *, seed: int = 0) -> Engine:
    """An engine for one `models:` entry of tsqa.yaml (`VllmModel` or `OpenAIModel`).

    A vllm model with `workers: N > 1` gets N replicas on this node (engines/replicas.py), each
    `tensor_parallel_size` devices in its own process; an openai model's `workers` are the
    endpoint's replicas (`vllm serve -dp N` behind one URL), so its concurrency scales with them."""
    if config.engine == "vllm" and getattr(config, "workers", 1) > 1:
        from functools import partial

        from tsqa.engines.replicas import ReplicaEngine, plan_layout

        layout = plan_layout(config.workers, config.tensor_parallel_size)
        return ReplicaEngine(config, layout, builder=partial(create_single_engine, seed=seed))
    return create_single_engine(config, seed=seed)


def create_single_engine(config: Any, *, seed: int = 0) -> Engine:
    """One engine for the config, ignoring `workers` (what each replica runs)."""
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
            max_concurrency=config.max_concurrency * getattr(config, "workers", 1),
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
        )
    raise EngineError(f"unknown engine {config.engine!r}")


class EnginePool:
    """Named engines, each created once on first `get` and closed by `close()` / the with-block.

    Names whose configs describe the same engine (same weights, revision, numerics, endpoint;
    only planning fields such as throughput or worker count differ) share one engine: a model is
    loaded once even when `generator` and `solver` name the same weights.
    """

    def __init__(self, models: Mapping[str, Any], factory: EngineFactory = create_engine) -> None:
        self._models = dict(models)
        self._factory = factory
        self._engines: dict[Any, Engine] = {}

    def get(self, name: str) -> Engine:
        if name not in self._models:
            raise EngineError(f"no model named {name!r} (known: {sorted(self._models)})")
        key = _engine_key(self._models[name])
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = self._factory(self._shared_config(name, key))
        return engine

    def _shared_config(self, name: str, key: Any) -> Any:
        """Names sharing one engine get the most replicas any of them asks for (not whichever
        name happened to be used first)."""
        config = self._models[name]
        workers = [getattr(c, "workers", 1) for c in self._models.values() if _engine_key(c) == key]
        if hasattr(config, "model_copy") and max(workers) != getattr(config, "workers", 1):
            config = config.model_copy(update={"workers": max(workers)})
        return config

    def loaded(self) -> list[str]:
        return [name for name, config in self._models.items() if _engine_key(config) in self._engines]

    def release(self, name: str) -> None:
        """Close the engine `name` uses (and so for every name sharing it)."""
        engine = self._engines.pop(_engine_key(self._models[name]), None) if name in self._models else None
        if engine is not None:
            engine.close()

    def close(self) -> None:
        while self._engines:
            self._engines.popitem()[1].close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
