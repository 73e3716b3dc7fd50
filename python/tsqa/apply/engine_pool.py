"""One engine per model, created on first use and kept alive for every stage and task that uses
it (a model is loaded once per apply), closed at the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tsqa.engines.base import Engine, EngineError
from tsqa.spec.models.project import OpenAIModel, VllmModel

EngineFactory = Callable[[str, VllmModel | OpenAIModel], Engine]


def default_factory(base_dir: Path) -> EngineFactory:
    def build(name: str, config: VllmModel | OpenAIModel) -> Engine:
        if isinstance(config, OpenAIModel):
            from tsqa.engines.openai_engine import OpenAIEngine

            return OpenAIEngine.from_config(config)  # type: ignore[attr-defined,no-any-return]
        from tsqa.engines.vllm_engine import VllmEngine

        return VllmEngine.from_config(config, base_dir=base_dir)  # type: ignore[attr-defined,no-any-return]

    return build


class EnginePool:
    def __init__(self, models: dict[str, VllmModel | OpenAIModel], factory: EngineFactory) -> None:
        self._models = models
        self._factory = factory
        self._engines: dict[str, Engine] = {}
        self._by_name: dict[str, str] = {}

    def get(self, name: str) -> Engine:
        config = self._models[name]
        # Two names for the same weights share one engine.
        identity = f"{config.engine}:{config.model}@{config.revision}"
        if identity not in self._engines:
            try:
                self._engines[identity] = self._factory(name, config)
            except EngineError:
                raise
            except Exception as exc:  # noqa: BLE001 - any start failure is the user's to see, not a traceback
                raise EngineError(f"model {name!r} ({config.model}) failed to start: {type(exc).__name__}: {exc}") from None
        return self._engines[identity]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()
