"""Remove rows whose text overlaps eval data: n-gram overlap (Rust core) against the eval files a
spec declares. Flagged rows are listed in the stage's rejects with the overlapping eval ids."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tsqa.curate.contamination import build_contamination_index, contamination
from tsqa.spec.load import LoadedSpec
from tsqa.stages.enrich import render_text


class EvalFileError(Exception):
    pass


def decontaminate(loaded: LoadedSpec, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    settings = loaded.spec.decontaminate
    files = tuple(str((loaded.path.parent / f).resolve()) for f in settings.eval_files)
    if not settings.enabled or not files or not rows:
        return rows, []
    index = _index(files, settings.ngram)
    result = contamination([render_text({**r}) for r in rows], index)
    kept, rejects = [], []
    for row, count, ids in zip(rows, result.count.tolist(), result.ids.to_pylist(), strict=True):
        if count >= settings.min_overlap:
            rejects.append({"id": f"{row['question_id']}/{row['variant']}", "reason": "contaminated",
                            "detail": f"{count} shared {settings.ngram}-grams with eval records {ids[:10]}"})
        else:
            kept.append(row)
    return kept, rejects


@lru_cache(maxsize=16)
def _index(files: tuple[str, ...], ngram: int) -> Any:
    texts: list[str] = []
    for file in files:
        texts += _eval_texts(Path(file))
    return build_contamination_index(texts, n=ngram)


def _eval_texts(path: Path) -> list[str]:
    """Every string field of every record, joined: questions, options and answers all count."""
    try:
        if path.suffix == ".parquet":
            records = pq.read_table(path).to_pylist()
        else:
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise EvalFileError(f"{path}: unreadable eval file ({exc})") from None
    return [" ".join(_strings(r)) for r in records]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
