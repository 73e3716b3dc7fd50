"""Megatron-LM indexed datasets (.bin/.idx) per task, written by megatron-core's own builder, and
the blend Megatron's `--data-path` takes.

Each packaged row's `text` is one document: encoded with the *target* tokenizer (a local
`tokenizer.json`, the one training will use) and, like Megatron's `preprocess_data.py
--append-eod`, closed with the end-of-document token. Files are named like preprocess_data's
output, `<task>_text_document.bin/.idx`.

Blend weights. A task's `blend.weight` is a per-token sampling factor: 1.0 everywhere reproduces the
natural mix (every token seen equally often), 2.0 makes a task's tokens twice as likely as a 1.0
task's. Megatron's weights are dataset sampling probabilities, so the exported weight of task i is

    w_i · T_i / Σ_j w_j · T_j         (T = the task's tokens with the target tokenizer)

which sums to 1. `data_path.txt` holds `weight prefix weight prefix …` for `--data-path`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsqa.export.packaged import ExportError, Selection

DOCUMENT_SUFFIX = "_text_document"


@dataclass(frozen=True)
class TargetTokenizer:
    path: Path
    encode_batch: Any
    eod_id: int | None
    vocab_size: int


def load_tokenizer(path: Path, *, append_eod: bool) -> TargetTokenizer:
    """A tokenizer folder (tokenizer.json + tokenizer_config.json) or a tokenizer.json file."""
    from tokenizers import Tokenizer

    file = path / "tokenizer.json" if path.is_dir() else path
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on unreadable files
        raise ExportError(f"{file}: not a tokenizer.json ({exc})") from None
    eod_id = None
    if append_eod:
        config = file.parent / "tokenizer_config.json"
        eos = None
        if config.is_file():
            eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
            eos = eos.get("content") if isinstance(eos, dict) else eos
        eod_id = tokenizer.token_to_id(eos) if isinstance(eos, str) else None
        if eod_id is None:
            raise ExportError(f"{config}: no eos_token known to the tokenizer; pass --no-append-eod or fix the config")

    def encode_batch(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return TargetTokenizer(file, encode_batch, eod_id, tokenizer.get_vocab_size(with_added_tokens=True))


def megatron_weights(weights: Sequence[float], tokens: Sequence[int]) -> list[float]:
    """w_i · T_i / Σ w_j · T_j (see the module doc); tasks without tokens get 0."""
    mass = [w * t for w, t in zip(weights, tokens, strict=True)]
    total = sum(mass)
    if total <= 0:
        return [0.0] * len(mass)
    return [m / total for m in mass]


def _builder() -> tuple[Any, Any]:
    with warnings.catch_warnings():  # megatron-core warns on import that Apex/TE are absent (unused here)
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import DType, IndexedDatasetBuilder
    return DType, IndexedDatasetBuilder


def export_megatron(
    selection: Selection, out: Path, tokenizer: TargetTokenizer, *, batch: int = 1024
) -> dict[str, Any]:
    try:
        dtype_table, builder_cls = _builder()
    except ImportError as exc:
        raise ExportError(
            f"the megatron export needs megatron-core and torch ({exc}); pip install megatron-core"
        ) from None
    out.mkdir(parents=True, exist_ok=True)
    dtype = dtype_table.optimal_dtype(tokenizer.vocab_size)
    entries: list[dict[str, Any]] = []
    for task in selection.tasks:
        prefix = out / f"{task.task}{DOCUMENT_SUFFIX}"
        texts = task.table.column("text").to_pylist()
        builder = builder_cls(str(prefix) + ".bin", dtype=dtype)
        tokens = 0
        try:
            for start in range(0, len(texts), batch):
                for encoded in tokenizer.encode_batch(texts[start : start + batch]):
                    ids = encoded if tokenizer.eod_id is None else [*encoded, tokenizer.eod_id]
                    # A NumPy array, not a tensor: the builder converts with numpy.array(...) either way.
                    builder.add_document(np.asarray(ids, dtype=np.int64), [len(ids)])
                    tokens += len(ids)
        finally:
            builder.data_file.close()  # finalize closes it too; an encoding error must not leak it
        builder.finalize(str(prefix) + ".idx")
        entries.append(
            {
                "task": task.task,
                "group": task.group,
                "prefix": prefix.name,
                "documents": len(texts),
                "tokens": tokens,
                "weight": task.weight,
            }
        )
    shares = megatron_weights([e["weight"] for e in entries], [e["tokens"] for e in entries])
    for entry, share in zip(entries, shares, strict=True):
        entry["megatron_weight"] = round(share, 10)
    data_path: list[Any] = []
    for entry in entries:
        data_path += [entry["megatron_weight"], str((out / entry["prefix"]).resolve())]
    blend = {
        "tokenizer": str(tokenizer.path),
        "append_eod": tokenizer.eod_id is not None,
        "dtype": dtype.__name__,
        "weights": "w_i * tokens_i / sum_j w_j * tokens_j (blend.weight is a per-token sampling factor)",
        "tasks": entries,
        "skipped": [{"task": t, "why": why} for t, why in selection.skipped],
        "data_path": data_path,
    }
    (out / "megatron_blend.json").write_text(json.dumps(blend, indent=2) + "\n", encoding="utf-8")
    (out / "data_path.txt").write_text(" ".join(str(x) for x in data_path) + "\n", encoding="utf-8")
    return blend
