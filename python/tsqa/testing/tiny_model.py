"""Build a tiny, randomly initialised Llama model as a local Hugging Face folder.

For CI and benchmarks on machines with no GPU and no model hub: vLLM's CPU build loads it in
seconds. The output is nonsense, but it exercises the real engine path (chat template, n samples,
structured outputs). Shapes follow what vLLM's CPU attention supports (head_dim 64), and the
tokenizer is character-level because xgrammar misreads byte-level BPE vocabularies trained on a few
strings and then emits broken JSON.

    python -m tsqa.testing.tiny_model OUT_DIR [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>")
# Printable ASCII without control characters: with "\n"/"\t" tokens in the vocabulary xgrammar let
# raw tabs into JSON strings and ignored disable_any_whitespace. Other characters map to <unk>.
CHARACTERS = tuple(chr(c) for c in range(32, 127))
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "[{{ message['role'] }}] {{ message['content'] }} "
    "{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
)
SHAPE: dict[str, Any] = {
    "hidden_size": 128,
    "num_attention_heads": 2,  # head_dim 64: a size the CPU attention kernels support
    "num_key_value_heads": 2,
    "num_hidden_layers": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 4096,
}


def vocabulary() -> dict[str, int]:
    return {token: i for i, token in enumerate(SPECIAL_TOKENS + CHARACTERS)}


def build_tokenizer(out_dir: Path) -> None:
    from tokenizers import AddedToken, Tokenizer, decoders, models

    vocab = vocabulary()
    # BPE with no merges = one token per character; Fuse joins them back without spaces.
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))  # noqa: S106 - a token, not a password
    tokenizer.decoder = decoders.Fuse()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "</s>",
        "model_max_length": SHAPE["max_position_embeddings"],
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>"}
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def build_tiny_model(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Write config.json, model.safetensors, generation_config.json and the tokenizer files into
    `out_dir` (created if needed); the same seed gives byte-identical weights."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    config = LlamaConfig(
        vocab_size=len(vocab),
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=vocab["</s>"],
        tie_word_embeddings=False,
        **SHAPE,
    )
    torch.manual_seed(seed)
    # bfloat16: what vLLM runs on CPU with dtype="auto" (no cast on load), and half the size.
    model = LlamaForCausalLM(config).to(torch.bfloat16).eval()  # type: ignore[no-untyped-call,arg-type]
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"], pad_token_id=vocab["</s>"]
    ).save_pretrained(out)
    build_tokenizer(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsqa.testing.tiny_model", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the model into")
    parser.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    args = parser.parse_args(argv)
    try:
        out = build_tiny_model(args.out_dir, seed=args.seed)
    except ImportError as exc:
        print(
            f"error: building the tiny model needs torch and transformers ({exc}); "
            "install them with scripts/install_vllm_cpu.sh",
            file=sys.stderr,
        )
        return 1
    print(f"tiny model written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
