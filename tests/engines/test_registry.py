from __future__ import annotations

from typing import Any

import pytest

from tsqa.engines import EngineError, EnginePool, ScriptedEngine, create_engine
from tsqa.engines.openai_engine import OpenAIEngine
from tsqa.spec.models.project import OpenAIModel, VllmModel


def test_pool_creates_each_engine_once_and_closes_all() -> None:
    created: list[str] = []

    def factory(config: Any) -> ScriptedEngine:
        created.append(config)
        return ScriptedEngine(lambda r: config)

    models = {"generator": "gen", "solver": "sol"}
    with EnginePool(models, factory=factory) as pool:
        generator = pool.get("generator")
        assert pool.get("generator") is generator  # loaded once, shared by every stage
        solver = pool.get("solver")
        assert created == ["gen", "sol"] and pool.loaded() == ["generator", "solver"]
        pool.release("generator")
        assert generator.closed and not solver.closed  # type: ignore[attr-defined]
        assert pool.get("generator") is not generator  # released engines load again
        with pytest.raises(EngineError, match=r"no model named 'judge' \(known: \['generator', 'solver'\]\)"):
            pool.get("judge")
    assert solver.closed and pool.loaded() == []  # type: ignore[attr-defined]


def test_openai_config_builds_an_openai_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    config = OpenAIModel(
        engine="openai", model="served", base_url="http://127.0.0.1:9/v1", max_concurrency=5, max_retries=2,
        api_key_env="TSQA_TEST_KEY",
    )  # fmt: skip
    monkeypatch.delenv("TSQA_TEST_KEY", raising=False)
    with pytest.raises(EngineError, match="environment variable TSQA_TEST_KEY"):
        create_engine(config)
    monkeypatch.setenv("TSQA_TEST_KEY", "secret")
    engine = create_engine(config)
    assert isinstance(engine, OpenAIEngine)
    assert (engine.base_url, engine.model, engine.max_concurrency, engine.max_retries) == (
        "http://127.0.0.1:9/v1", "served", 5, 2,
    )  # fmt: skip


def test_vllm_config_without_vllm_names_the_install_script(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if vLLM were not installed
    with pytest.raises(EngineError, match=r"needs vLLM.*scripts/install_vllm_cpu.sh"):
        create_engine(VllmModel(engine="vllm", model="/nonexistent"))


def test_names_for_the_same_weights_share_one_engine() -> None:
    created: list[Any] = []

    def factory(config: Any) -> ScriptedEngine:
        created.append(config)
        return ScriptedEngine(lambda r: "x")

    same = {"engine": "vllm", "model": "org/m", "revision": "r1"}
    models = {
        "generator": VllmModel(**same, workers=4),  # type: ignore[arg-type]
        "solver": VllmModel(**same, throughput_tokens_per_s=9000),  # type: ignore[arg-type]
        "judge": VllmModel(**{**same, "revision": "r2"}),  # type: ignore[arg-type]
    }
    with EnginePool(models, factory=factory) as pool:
        assert pool.get("generator") is pool.get("solver")
        assert pool.get("judge") is not pool.get("generator")
        assert len(created) == 2 and pool.loaded() == ["generator", "solver", "judge"]
