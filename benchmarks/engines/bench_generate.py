"""Generation throughput: tsqa's vllm engine vs raw `vllm.LLM.generate`, same process and model.

All sides share one `vllm.LLM` (the engine's), the same prompts, sampling and per-request seeds,
so they generate the same tokens (checked). Raw gets its best case: chat prompts rendered (to text,
and to token ids for a second baseline) and SamplingParams built before the clock starts. tsqa is timed end to end from `Request`s: chat
template, tokenisation, sampling params, chunking, `Result`s. Each round runs both sides, in
rotating order; the table shows the fastest round of each side (other jobs sharing the CPU only
add time), the JSON output has medians too, and the load average is printed.

    python benchmarks/engines/bench_generate.py [--model DIR] [--prompts 512] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "maxLength": 60},
        "answer": {"type": "string", "maxLength": 20},
    },
    "required": ["question", "answer"],
    "additionalProperties": False,
}


def workloads(prompts: int) -> dict[str, list[Any]]:
    from tsqa.engines import Request, Sampling

    def requests(n: int, max_tokens: int, schema: dict[str, Any] | None) -> list[Any]:
        return [
            Request(
                id=f"r{i}",
                messages=[
                    {"role": "system", "content": "You write exam questions similar to the seed."},
                    {"role": "user", "content": f"Seed {i}: which planet is closest to star {i % 97}?"},
                ],
                sampling=Sampling(n=n, temperature=0.9, top_p=0.95, max_tokens=max_tokens, seed=i),
                json_schema=schema,
            )
            for i in range(prompts)
        ]

    return {"free text, n=1, 64 tokens": requests(1, 64, None), "JSON schema, n=3": requests(3, 160, SCHEMA)}


def run(model: str, prompts: int, rounds: int, chunk_size: int) -> list[dict[str, Any]]:
    from tsqa.engines.vllm_engine import VllmEngine

    rows = []
    with VllmEngine(model, max_model_len=1024, enforce_eager=True, chunk_size=chunk_size) as engine:
        llm = engine.llm  # the same vLLM engine for both sides
        tokenizer = llm.get_tokenizer()
        for name, requests in workloads(prompts).items():
            texts = [
                tokenizer.apply_chat_template(
                    [m.model_dump() for m in r.messages], tokenize=False, add_generation_prompt=True
                )
                for r in requests
            ]
            params = [engine.sampling_params(r) for r in requests]

            token_prompts = [{"prompt_token_ids": tokenizer.encode(t, add_special_tokens=False)} for t in texts]

            def summarise(outs: list[Any]) -> tuple[int, list[tuple[str, ...]]]:
                tokens = sum(len(c.token_ids) for o in outs for c in o.outputs)
                return tokens, [tuple(c.text for c in sorted(o.outputs, key=lambda c: c.index)) for o in outs]

            def raw_text() -> tuple[int, list[tuple[str, ...]]]:
                kwargs = {"tokenization_kwargs": {"add_special_tokens": False}}
                return summarise(llm.generate(texts, params, use_tqdm=False, **kwargs))

            def raw_tokens() -> tuple[int, list[tuple[str, ...]]]:
                return summarise(llm.generate(token_prompts, params, use_tqdm=False))

            def tsqa() -> tuple[int, list[tuple[str, ...]]]:
                results = list(engine.run(requests))
                assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
                return sum(r.completion_tokens for r in results), [r.texts for r in results]

            def apply_path() -> tuple[int, list[tuple[str, ...]]]:
                # What `tsqa apply` adds around the engine: response-cache lookups and commits (a
                # fresh cache, so every call is a miss) and the chunk's Parquet shard.
                import pyarrow as pa

                from tsqa.apply.model_calls import call_model
                from tsqa.store.response_cache import ResponseCache
                from tsqa.store.shards import write_shard

                with tempfile.TemporaryDirectory() as tmp:
                    cache = ResponseCache(Path(tmp) / "cache.sqlite")
                    results, _ = call_model(lambda: engine, cache, {"model": model}, requests)
                    ordered = [results[r.id] for r in requests]
                    write_shard(
                        Path(tmp) / "data",
                        0,
                        pa.table({"id": [r.id for r in ordered], "text": [r.texts[0] for r in ordered]}),
                    )
                    cache.close()
                return sum(r.completion_tokens for r in ordered), [r.texts for r in ordered]

            sides = {"raw_text": raw_text, "raw_tokens": raw_tokens, "tsqa": tsqa, "apply": apply_path}
            for fn in sides.values():
                fn()  # warm-up: grammar compilation, allocator, prefix cache
            times: dict[str, list[float]] = {side: [] for side in sides}
            tokens: dict[str, int] = {}
            outputs: dict[str, list[tuple[str, ...]]] = {}
            for round_ in range(rounds):
                order = list(sides.items())
                order = order[round_ % len(order) :] + order[: round_ % len(order)]  # rotate: no order bias
                for side, fn in order:
                    start = time.perf_counter()
                    tokens[side], outputs[side] = fn()
                    times[side].append(time.perf_counter() - start)
            row: dict[str, Any] = {"workload": name, "prompts": prompts, "chunk_size": chunk_size}
            for side in sides:
                # the fastest round: other jobs on a shared machine only ever add time
                row[f"{side}_s"] = min(times[side])
                row[f"{side}_median_s"] = statistics.median(times[side])
                row[f"{side}_tok_s"] = tokens[side] / row[f"{side}_s"]
            row["ratio_vs_text"] = row["tsqa_tok_s"] / row["raw_text_tok_s"]
            row["ratio_vs_tokens"] = row["tsqa_tok_s"] / row["raw_tokens_tok_s"]
            row["ratio_apply_vs_text"] = row["apply_tok_s"] / row["raw_text_tok_s"]
            row["same_outputs"] = outputs["raw_text"] == outputs["raw_tokens"] == outputs["tsqa"] == outputs["apply"]
            start = time.perf_counter()  # tsqa's own host work: template, tokenisation, params
            engine._encode([engine.render_text(r) for r in requests])
            for r in requests:
                engine.sampling_params(r)
            row["tsqa_host_us_per_request"] = (time.perf_counter() - start) / len(requests) * 1e6
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model folder (default: build the tiny model in a temp dir)")
    parser.add_argument("--prompts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=4096, help="tsqa engine chunk size")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from tsqa.testing.tiny_model import build_tiny_model

            model = str(build_tiny_model(tmp))
        rows = run(model, args.prompts, args.rounds, args.chunk_size)
    print(
        "| workload | prompts | chunk | raw generate(text) | raw generate(token ids) | tsqa engine | tsqa apply path "
        "| engine ÷ raw text | engine ÷ raw ids | apply ÷ raw text | same outputs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [
            f"{r[f'{side}_tok_s']:.0f} tok/s ({r[f'{side}_s']:.2f} s)"
            for side in ("raw_text", "raw_tokens", "tsqa", "apply")
        ]
        print(
            f"| {r['workload']} | {r['prompts']} | {r['chunk_size']} | {' | '.join(cells)} "
            f"| **{r['ratio_vs_text']:.2f}** | **{r['ratio_vs_tokens']:.2f}** | **{r['ratio_apply_vs_text']:.2f}** "
            f"| {r['same_outputs']} |"
        )
    for r in rows:
        print(f"tsqa host work ({r['workload']}): {r['tsqa_host_us_per_request']:.0f} µs/request")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
