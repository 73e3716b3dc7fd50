"""The engine stream and the cross-task shard stream, on the scripted engine."""

from __future__ import annotations

import pytest

from tsqa.engines import Request, Result, Sampling, ScriptedEngine
from tsqa.engines.base import stream
from tsqa.executors.stream import Shard, prefix_order, shards_of, stream_shards


def req(task: str, i: int, *, text: str | None = None, n: int = 1) -> Request:
    return Request(
        id=f"{task}/generate/{i}",
        messages=[
            {"role": "system", "content": f"You write questions for {task}."},
            {"role": "user", "content": text or f"seed {i}" + "!" * (i % 5)},
        ],
        sampling=Sampling(n=n, seed=i, max_tokens=8),
    )


def test_stream_bounds_in_flight_and_returns_every_result_out_of_order() -> None:
    engine = ScriptedEngine(lambda r: r.id, max_in_flight=6, per_step=2)
    pulled: list[str] = []

    def source() -> object:
        for i in range(50):
            pulled.append(str(i))
            yield req("a", i, n=3)

    results = list(stream(engine, source()))  # type: ignore[arg-type]
    assert sorted(r.id for r in results) == sorted(f"a/generate/{i}" for i in range(50))
    assert all(r.texts == (r.id,) * 3 for r in results)  # n samples kept
    assert engine.peak_in_flight == 6  # bounded by the engine's own bound
    assert [r.id for r in results] != [f"a/generate/{i}" for i in range(50)]  # completion order


def test_a_consumer_that_stops_early_leaves_nothing_in_the_engine() -> None:
    engine = ScriptedEngine(lambda r: "x", max_in_flight=10, per_step=1)
    it = stream(engine, (req("a", i) for i in range(100)))
    next(it)
    it.close()
    assert len(engine.calls) <= 11  # lazily pulled: not the whole input
    assert next(iter(stream(engine, [req("b", 0)]))).id == "b/generate/0"  # a new stream works


def test_shards_of_many_tasks_share_one_stream_and_complete_one_by_one() -> None:
    engine = ScriptedEngine(lambda r: r.id.upper(), max_in_flight=16, per_step=4)
    shards = [
        s for t in range(30) for s in shards_of(lambda i, t=t: (f"t{t}", i), [req(f"t{t}", i) for i in range(7)], 3)
    ]
    assert len(shards) == 90 and [len(s.requests) for s in shards[:3]] == [3, 3, 1]
    done = list(stream_shards(engine, shards, window_requests=40))
    assert sorted(s.key for s, _ in done) == sorted(s.key for s in shards)  # every shard exactly once
    for shard, results in done:
        assert set(results) == {r.id for r in shard.requests}
        assert all(results[r.id].texts == (r.id.upper(),) for r in shard.requests)
    assert engine.peak_in_flight == 16  # one continuous stream, full across shard and task boundaries


def test_cache_hits_skip_the_engine_and_engine_results_are_committed() -> None:
    engine = ScriptedEngine(lambda r: "fresh")
    shards = [Shard("cached", [req("a", 0), req("a", 1)]), Shard("mixed", [req("a", 2), req("a", 3)])]
    cache = {
        "a/generate/0": Result(id="a/generate/0", texts=("old",)),
        "a/generate/1": Result(id="a/generate/1", texts=("old",)),
        "a/generate/2": Result(id="a/generate/2", texts=("old",)),
    }
    committed: list[str] = []
    done = {
        shard.key: results
        for shard, results in stream_shards(
            engine,
            shards,
            lookup=lambda shard: {r.id: cache[r.id] for r in shard.requests if r.id in cache},
            on_result=lambda r: committed.append(r.id),
        )
    }
    assert [c.id for c in engine.calls] == ["a/generate/3"] and committed == ["a/generate/3"]
    assert done["cached"]["a/generate/0"].texts == ("old",) and done["mixed"]["a/generate/3"].texts == ("fresh",)


def test_prefix_order_groups_shared_prefixes() -> None:
    mixed = [req("b", 1), req("a", 2), req("b", 0), req("a", 1)]
    assert [r.id for r in prefix_order(mixed)] == ["a/generate/1", "a/generate/2", "b/generate/0", "b/generate/1"]


def test_duplicate_ids_across_shards_are_refused() -> None:
    with pytest.raises(ValueError, match="in two shards"):
        list(stream_shards(ScriptedEngine(lambda r: "x"), [Shard(1, [req("a", 0)]), Shard(2, [req("a", 0)])]))
