"""LLM engines behind one interface: `Engine.run(requests) -> results`.

`vllm` (in-process vLLM), `openai` (an OpenAI-compatible endpoint) and `ScriptedEngine` (a test
double). vLLM and aiohttp are imported only by the engine that needs them.
"""

from tsqa.engines.base import (
    ChatMessage,
    Engine,
    EngineError,
    EngineStream,
    Request,
    Result,
    Sampling,
    StreamingEngine,
    derive_seed,
    stream,
)
from tsqa.engines.registry import EnginePool, create_engine
from tsqa.engines.scripted import ScriptedEngine

__all__ = [
    "ChatMessage",
    "Engine",
    "EngineError",
    "EnginePool",
    "EngineStream",
    "Request",
    "Result",
    "Sampling",
    "ScriptedEngine",
    "StreamingEngine",
    "create_engine",
    "derive_seed",
    "stream",
]
