"""Generation throughput: tsqa's vllm engine vs raw `vllm.LLM.generate`, same process and model.

All sides share one `vllm.LLM` (the engine's), the same prompts, sampling and per-request seeds,
so they generate the same tokens (checked). Raw gets its best case: chat prompts rendered (to text,
and to token ids for a second baseline) and SamplingParams built before the clock starts. tsqa is timed end to end from `Request`s: chat
template, tokenisation, sampling params, chunking, `Result`s. Each round runs both sides, in
rotating order; the table shows the fastest round of each side (other jobs sharing the CPU only
add time), the JSON output has medians too, and the load average is printed.

    python benchmarks/engines/bench_generate.py [--model DIR] [--prompts 512] [--rounds 5]

`--workload many-tasks` measures the many-small-tasks shape instead (most lm-eval training splits
are small): `--tasks 200` tasks × `--seeds 20` seed rows, rendered with the built-in generate
prompt and its JSON schema (the example's prompts), on one engine:
  raw       one `LLM.generate` over every prompt at once (prompts and params prepared untimed);
  per-task  today's apply path: per task, the response cache (fresh: all misses), one
            `generate` call for the task's requests, one Parquet shard per task;
  stream    the new path: every task's shards fed into one engine stream (bounded in flight,
            prefix-ordered), the same cache commits, each shard written as it completes.

    python benchmarks/engines/bench_generate.py --workload many-tasks [--tasks 200] [--seeds 20]
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


def many_task_requests(tasks: int, seeds: int, max_tokens: int) -> list[list[Any]]:
    """Per task: the generate requests `tsqa apply` builds from the built-in prompt."""
    from tsqa.compile.plan import ModelCallPlan
    from tsqa.prompts import builtin_prompt_text
    from tsqa.spec.models import TaskSpec
    from tsqa.stages.requests import generate_requests

    template = builtin_prompt_text("similar_question")
    out = []
    for t in range(tasks):
        spec = TaskSpec.model_validate(
            {
                "task": f"bench_task_{t:03d}",
                "description": f"Grade-school science questions, family {t % 17}.",
                "seed": {"files": "seeds.jsonl"},
                "format": "multiple_choice",
                "generate": {"per_seed": 1, "sampling": {"temperature": 0.9, "max_tokens": max_tokens}},
            }
        )
        rows = [
            {
                "seed_id": f"s{i}",
                "question": f"Which planet is closest to star {t}-{i}?",
                "options": ["Mercury", "Venus", "Earth", f"Planet {i}"],
                "answer_index": i % 4,
                "answer_text": None,
                "context": None,
            }
            for i in range(seeds)
        ]
        call = ModelCallPlan(
            model="generator",
            identity={"model": "tiny"},
            prompt_stage="generate",
            prompts={"": template},
            sampling=spec.generate.sampling.model_dump(mode="json"),
            chunk_size=1024,
        )
        out.append(generate_requests(spec, call, rows, with_context=False))
    return out


def run_many_tasks(model: str, tasks: int, seeds: int, rounds: int, max_tokens: int) -> dict[str, Any]:
    import pyarrow as pa

    from tsqa.apply.model_calls import call_model
    from tsqa.engines.vllm_engine import VllmEngine
    from tsqa.executors.stream import Shard, stream_shards
    from tsqa.store.response_cache import ResponseCache, request_key
    from tsqa.store.shards import write_shard

    per_task = many_task_requests(tasks, seeds, max_tokens)
    everything = [r for task in per_task for r in task]
    identity = {"model": model}

    def shard_table(results: list[Any]) -> Any:
        return pa.table({"id": [r.id for r in results], "text": [r.texts[0] if r.texts else None for r in results]})

    with VllmEngine(model, max_model_len=2048, enforce_eager=True) as engine:
        llm = engine.llm
        failed: dict[int, Any] = {}
        slots, prompts, params = engine._prepare(everything, failed)
        assert not failed, list(failed.values())[:3]

        def raw() -> dict[str, tuple[str, ...]]:
            outs = llm.generate(prompts, params, use_tqdm=False)
            return {everything[i].id: tuple(c.text for c in o.outputs) for i, o in zip(slots, outs, strict=True)}

        def per_task_path() -> dict[str, tuple[str, ...]]:
            texts: dict[str, tuple[str, ...]] = {}
            with tempfile.TemporaryDirectory() as tmp:
                cache = ResponseCache(Path(tmp) / "cache.sqlite")
                for t, task_requests in enumerate(per_task):
                    results, _ = call_model(lambda: engine, cache, identity, task_requests)
                    ordered = [results[r.id] for r in task_requests]
                    write_shard(Path(tmp) / f"t{t}", 0, shard_table(ordered))
                    texts.update((r.id, r.texts) for r in ordered)
                cache.close()
            return texts

        def stream_path() -> dict[str, tuple[str, ...]]:
            texts: dict[str, tuple[str, ...]] = {}
            with tempfile.TemporaryDirectory() as tmp:
                cache = ResponseCache(Path(tmp) / "cache.sqlite")
                keys = {
                    r.id: request_key(
                        identity,
                        [m.model_dump() for m in r.messages],
                        r.sampling.model_dump(mode="json"),
                        r.json_schema,
                    )
                    for r in everything
                }
                pending: dict[str, dict[str, Any]] = {}

                def lookup(shard: Any) -> dict[str, Any]:
                    from tsqa.engines import Result

                    requests = shard.requests
                    hits = cache.get_many(keys[r.id] for r in requests)
                    return {r.id: Result(id=r.id, **hits[keys[r.id]]) for r in requests if keys[r.id] in hits}

                def commit(result: Any) -> None:
                    if result.ok:
                        pending[keys[result.id]] = result.model_dump(mode="json", exclude={"id", "attempts"})
                    if len(pending) >= 64:
                        cache.put_many(pending)
                        pending.clear()

                shards = [Shard(t, list(task_requests)) for t, task_requests in enumerate(per_task)]
                for shard, results in stream_shards(engine, shards, lookup=lookup, on_result=commit):
                    ordered = [results[r.id] for r in shard.requests]
                    write_shard(Path(tmp) / f"t{shard.key}", 0, shard_table(ordered))
                    texts.update((r.id, r.texts) for r in ordered)
                cache.put_many(pending)
                cache.close()
            return texts

        sides = {"raw": raw, "per_task": per_task_path, "stream": stream_path}
        for fn in sides.values():
            fn()  # warm-up: grammar compilation, allocator, prefix cache
        times: dict[str, list[float]] = {side: [] for side in sides}
        outputs: dict[str, dict[str, tuple[str, ...]]] = {}
        for round_ in range(rounds):
            order = list(sides.items())
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            for side, fn in order:
                start = time.perf_counter()
                outputs[side] = fn()
                times[side].append(time.perf_counter() - start)
        tokens = sum(len(c.token_ids) for o in llm.generate(prompts, params, use_tqdm=False) for c in o.outputs)
    row: dict[str, Any] = {"tasks": tasks, "seeds": seeds, "requests": len(everything), "output_tokens": tokens}
    for side in sides:
        row[f"{side}_s"] = min(times[side])
        row[f"{side}_median_s"] = statistics.median(times[side])
        row[f"{side}_tok_s"] = tokens / row[f"{side}_s"]
    row["per_task_vs_raw"] = row["raw_s"] / row["per_task_s"]
    row["stream_vs_raw"] = row["raw_s"] / row["stream_s"]
    row["same_outputs"] = outputs["raw"] == outputs["per_task"] == outputs["stream"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model folder (default: build the tiny model in a temp dir)")
    parser.add_argument("--prompts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=4096, help="tsqa engine chunk size")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--workload", choices=["engine", "many-tasks"], default="engine")
    parser.add_argument("--tasks", type=int, default=200, help="many-tasks: number of tasks")
    parser.add_argument("--seeds", type=int, default=20, help="many-tasks: seed rows per task")
    parser.add_argument("--max-tokens", type=int, default=64, help="many-tasks: max_tokens per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from tsqa.testing.tiny_model import build_tiny_model

            model = str(build_tiny_model(tmp))
        if args.workload == "many-tasks":
            r = run_many_tasks(model, args.tasks, args.seeds, args.rounds, args.max_tokens)
            print(
                "| tasks × seeds | output tokens | raw generate | per-task path | stream path | per-task ÷ raw | stream ÷ raw | same outputs |"
            )
            print("|---|---|---|---|---|---|---|---|")
            cells = [
                f"{r[f'{side}_tok_s']:.0f} tok/s ({r[f'{side}_s']:.2f} s)" for side in ("raw", "per_task", "stream")
            ]
            print(
                f"| {r['tasks']} × {r['seeds']} | {r['output_tokens']} | {' | '.join(cells)} "
                f"| **{r['per_task_vs_raw']:.2f}** | **{r['stream_vs_raw']:.2f}** | {r['same_outputs']} |"
            )
            print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(r, f, indent=2)
            return
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
