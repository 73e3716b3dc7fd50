"""Issue 11 items 1, 2 and 7 through the real openai engine: a fake OpenAI-compatible server on
loopback serves a short-answer project in the format the built-in prompts ask for ("The final
answer is: 901") and injects 503s and non-UTF-8 bodies. With `max_retries: 0` the faulty run
fails some calls, stays incomplete and says so; the rerun without faults packages exactly the
rows of a run that never saw a fault, and every enrichment in the prompted format is kept."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from aiohttp import web

from tsqa.apply.run import ApplyResult
from tsqa.apply.session import run_apply

N_SEEDS = 8


@dataclass
class Server:
    url: str = ""
    faulty: bool = False
    faults: Counter[str] = field(default_factory=Counter)
    calls: int = 0


def _reply(body: dict[str, Any]) -> list[str]:
    prompt = "\n".join(m["content"] for m in body["messages"])
    if "structured_outputs" in body:  # generate: one new question per seed, answer 901
        cases = re.findall(r"\(case (\d+)\)", prompt)  # the last: the seed itself (a worked example comes first)
        n = cases[-1] if cases else "?"
        question = f"Variant {n}: a shop had 900 apples and got one more. How many apples now?"
        return [json.dumps({"questions": [{"question": question, "answer": "901"}]})] * body.get("n", 1)
    return ["Step by step: 900 + 1 = 901.\nThe final answer is: 901"] * body.get("n", 1)  # solve, enrich


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "tiny", "object": "model"}]})

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        state.calls += 1
        digest = int(hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest(), 16)
        if state.faulty and digest % 4 == 0:  # a quarter of the requests, the kinds alternating
            if sum(state.faults.values()) % 2 == 0:
                state.faults["503"] += 1
                return web.Response(status=503, text="queue full")
            state.faults["non-utf8"] += 1
            return web.Response(status=200, body=b'{"choices": [{"\xff\xfe": 1}]}', content_type="application/json")
        texts = _reply(body)
        choices = [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ]
        return web.json_response({"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 10}})

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def _project(root: Path, url: str) -> None:
    (root / "specs").mkdir(parents=True)
    (root / "tsqa.yaml").write_text(
        "name: rig\nmodels:\n"
        f"  generator: {{engine: openai, model: tiny, base_url: '{url}', max_retries: 0, max_concurrency: 4}}\n"
        "defaults:\n  verify: {kind: vote, model: generator, samples: 3}\noutput: {dir: run}\n"
    )
    (root / "specs" / "sums.yaml").write_text(
        "task: sums\nseed: {files: seeds.jsonl, license: cc0-1.0}\nformat: short_answer\n"
        "generate: {per_seed: 1}\nenrich: {variants: [reasoning]}\n"
    )
    seeds = [{"question": f"What is 900 + 1? (case {i})", "answer": "901"} for i in range(N_SEEDS)]
    (root / "specs" / "seeds.jsonl").write_text("".join(json.dumps(s) + "\n" for s in seeds))


def _apply(root: Path) -> ApplyResult:
    return run_apply([root / "specs"], project_file=root / "tsqa.yaml")


def _dataset(root: Path) -> list[dict[str, Any]]:
    rows = [
        r
        for p in sorted((root / "run" / "datasets" / "sums").glob("part-*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    return sorted(rows, key=lambda r: str(r["id"]))


def test_faulty_endpoint_then_rerun_equals_a_clean_run(tmp_path: Path, server: Server) -> None:
    clean = tmp_path / "clean"
    _project(clean, server.url)
    reference = _apply(clean)
    assert reference.complete
    m = reference.manifests["sums"]
    assert m["enrich"].rejections == {}  # item 7: "The final answer is: 901" no longer contradicts 901
    assert m["verify"].rows_out == N_SEEDS and len(_dataset(clean)) == N_SEEDS

    faulty = tmp_path / "faulty"
    _project(faulty, server.url)
    server.faulty = True
    first = _apply(faulty)
    assert server.faults["503"] and server.faults["non-utf8"], server.faults  # both kinds were served
    assert not first.complete and first.failed_calls == sum(server.faults.values())  # no retries
    assert "package" not in first.manifests["sums"]
    server.faulty = False
    calls_before = server.calls
    second = _apply(faulty)
    assert second.complete and _dataset(faulty) == _dataset(clean)
    # the rerun asked again only what had failed or never been asked (everything else: cache)
    assert server.calls - calls_before <= first.failed_calls + (3 * N_SEEDS)
