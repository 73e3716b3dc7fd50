"""Count prompt tokens with the model's own tokenizer when it is on this machine.

Lookup order: the model's `tokenizer` (or `model`) as a local folder holding tokenizer.json; the
Hugging Face cache (`local_files_only`, never a download); otherwise a documented heuristic of one
token per 4 UTF-8 bytes, which is within ~15% for BPE tokenizers on English prose and is flagged as
such in the plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tsqa.spec.models.project import OpenAIModel, VllmModel

# Tokens a chat template adds around a single user message (role markers, BOS/EOS).
CHAT_TEMPLATE_OVERHEAD = 12
BYTES_PER_TOKEN = 4


@dataclass(frozen=True)
class TokenCounter:
    method: str
    count_text: Callable[[str], int]
    count_batch: Callable[[list[str]], list[int]] | None = None
    """Many texts at once (the tokenizer's own parallel batch encoder), for corpus-sized counts."""

    def count_prompt(self, text: str) -> int:
        return self.count_text(text) + CHAT_TEMPLATE_OVERHEAD

    def count_many(self, texts: list[str]) -> int:
        if self.count_batch is not None:
            return sum(self.count_batch(texts))
        return sum(self.count_text(t) for t in texts)


def heuristic_count(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


HEURISTIC = TokenCounter(f"heuristic:bytes/{BYTES_PER_TOKEN}", heuristic_count)


def counter_for(model: VllmModel | OpenAIModel, base_dir: Path) -> TokenCounter:
    source = getattr(model, "tokenizer", None) or model.model
    return _cached_counter(source, model.revision, str(base_dir))


@lru_cache(maxsize=64)
def _cached_counter(source: str, revision: str | None, base_dir: str) -> TokenCounter:
    path = _local_tokenizer_file(source, Path(base_dir)) or _hub_cached_tokenizer_file(source, revision)
    if path is None:
        return HEURISTIC
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    except Exception:  # noqa: BLE001 - a corrupt or foreign tokenizer file: fall back, flagged
        return HEURISTIC
    return TokenCounter(
        f"tokenizer:{source}",
        lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids),
        lambda texts: [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)],
    )


def _local_tokenizer_file(source: str, base_dir: Path) -> Path | None:
    for folder in (Path(source), base_dir / source):
        candidate = folder / "tokenizer.json"
        if candidate.is_file():
            return candidate
    return None


def _hub_cached_tokenizer_file(repo_id: str, revision: str | None) -> Path | None:
    if repo_id.count("/") != 1 or Path(repo_id).exists():
        return None
    try:
        # The repo's cache folder first: the constants are cheap to import, the lookup function's
        # module (file_download, with its HTTP stack) costs ~0.3 s of a plan when nothing is cached.
        from huggingface_hub.constants import HF_HUB_CACHE

        if not (Path(HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}").is_dir():
            return None
        # A pure cache lookup: hf_hub_download(local_files_only=True) builds an HTTP client and
        # may try the network for its user agent, ~0.3 s of every plan.
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "tokenizer.json", revision=revision)
    except Exception:  # noqa: BLE001 - hub library absent or odd cache: the heuristic is used
        return None
    return Path(found) if isinstance(found, str) else None
