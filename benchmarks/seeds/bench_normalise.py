"""Seed normalisation throughput (records/s) on fixture-like records, beside lm-eval's own
per-document field resolution on the same documents.

Documents are the fixture rows of tests/fixtures/seeds/<family>/train.jsonl, repeated with a
row number appended to every string (so nothing is cached by value), `--records` per task.
tsqa: `normalise(spec, task_info, docs)` end to end (process_docs, rules, letters, shuffle,
SeedRecord with raw JSON). lm-eval: a ConfigurableTask built offline on the same fixture files,
calling doc_to_text + doc_to_choice + doc_to_target per document (no record, no JSON).

    python benchmarks/seeds/bench_normalise.py --records 1000000 --tasks arc_easy
    python benchmarks/seeds/bench_normalise.py --records 100000 --peer-records 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "seeds"
sys.path.insert(0, str(REPO / "tests" / "seeds"))  # seed_helpers: the fixture map the tests use

from seed_helpers import GOLDEN_TASKS, lm_eval_spec

from tsqa.seeds.catalog import load_catalog
from tsqa.seeds.normalise import normalise

DEFAULT_TASKS = ["arc_easy", "piqa", "commonsense_qa", "winogrande", "sciq", "triviaqa", "gsm8k", "hellaswag"]


def vary(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return f"{value} {i}" if value and not value.isdigit() and len(value) > 2 else value
    if isinstance(value, list):
        return [vary(v, i) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("label", "labels") else vary(v, i)) for k, v in value.items()}
    return value


def make_docs(task: str, n: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (FIXTURES / GOLDEN_TASKS[task] / "train.jsonl").read_text().splitlines()]
    keep = {"answerKey", "label", "answer", "correct_answer"} if task not in ("gsm8k", "triviaqa") else {"label"}
    docs = []
    for i in range(n):
        row = rows[i % len(rows)]
        docs.append({k: (v if k in keep else vary(v, i)) for k, v in row.items()})
    if task == "winogrande":  # keep the blank; options must differ
        for i, d in enumerate(docs):
            d["sentence"] = rows[i % len(rows)]["sentence"] + f" ({i})"
    return docs


def lm_eval_task(task: str) -> Any:
    from lm_eval.tasks import TaskManager

    tm = TaskManager()
    files = {s: str(FIXTURES / GOLDEN_TASKS[task] / f"{s}.jsonl") for s in ("train", "validation")}
    overrides = {
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": files},
        "training_split": "train",
        "validation_split": "validation",
        "test_split": None,
        "fewshot_split": None,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tm._factory._build_task(tm.task_index[task], overrides=overrides)


def bench_tsqa(task: str, n: int) -> tuple[float, int, int]:
    docs = make_docs(task, n)
    info = load_catalog().get(task)
    gc.collect()
    start = time.perf_counter()
    result = normalise(lm_eval_spec(task), info, docs)
    elapsed = time.perf_counter() - start
    return elapsed, len(result.records), len(result.failures)


def bench_lm_eval(task: str, n: int) -> float:
    import datasets

    datasets.disable_progress_bars()
    lm = lm_eval_task(task)
    docs = make_docs(task, n)
    if lm.config.process_docs is not None:
        docs = lm.config.process_docs(datasets.Dataset.from_list(docs)).to_list()
    has_choice = lm.config.doc_to_choice is not None
    gc.collect()
    start = time.perf_counter()
    for doc in docs:
        lm.doc_to_text(doc)
        if has_choice:
            lm.doc_to_choice(doc)
        lm.doc_to_target(doc)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="documents per task for tsqa")
    parser.add_argument("--peer-records", type=int, default=100_000, help="documents per task for lm-eval (0: skip)")
    parser.add_argument("--tasks", nargs="*", default=DEFAULT_TASKS)
    args = parser.parse_args()
    print(
        f"| task | tsqa records/s ({args.records:,} docs) | failures | lm-eval doc_to_* docs/s ({args.peer_records:,}) | ratio |"
    )
    print("|---|---|---|---|---|")
    for task in args.tasks:
        elapsed, _, failed = bench_tsqa(task, args.records)
        rate = args.records / elapsed
        peer = ""
        ratio = ""
        if args.peer_records:
            peer_rate = args.peer_records / bench_lm_eval(task, args.peer_records)
            peer, ratio = f"{peer_rate:,.0f}", f"{rate / peer_rate:.2f}×"
        print(f"| {task} | {rate:,.0f} ({elapsed:.1f} s) | {failed} | {peer} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
