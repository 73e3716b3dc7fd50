from __future__ import annotations

import pytest

from tsqa.engines import Engine, Request, Result, Sampling, ScriptedEngine, derive_seed


def req(rid: str, text: str = "q", n: int = 1) -> Request:
    return Request(id=rid, messages=[{"role": "user", "content": text}], sampling=Sampling(n=n))


def test_function_script_answers_every_request_in_order() -> None:
    engine = ScriptedEngine(lambda r: f"echo {r.messages[-1].content}")
    results = list(engine.run([req("a", "one two"), req("b", "three", n=3)]))
    assert [r.id for r in results] == ["a", "b"]
    assert results[0].texts == ("echo one two",)
    assert results[1].texts == ("echo three",) * 3
    assert results[1].finish_reasons == ("stop",) * 3
    assert results[0].prompt_tokens == 2 and results[0].completion_tokens == 3
    assert [r.id for r in engine.calls] == ["a", "b"]
    assert isinstance(engine, Engine)


def test_table_script_missing_id_is_a_per_request_error() -> None:
    engine = ScriptedEngine({"a": ["x", "y"], "c": Result(id="other", texts=("z",), finish_reasons=("length",))})
    results = {r.id: r for r in engine.run([req("a", n=2), req("b"), req("c")])}
    assert results["a"].texts == ("x", "y") and results["a"].ok
    assert results["b"].error == "scripted engine has no answer for id 'b'"
    assert results["c"].texts == ("z",) and results["c"].finish_reasons == ("length",)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (["only one"], "scripted reply has 1 texts, request asked for n=2"),
    ],
)
def test_wrong_number_of_texts_is_an_error(reply: list[str], error: str) -> None:
    [result] = ScriptedEngine(lambda r: reply).run([req("a", n=2)])
    assert result.error == error and result.texts == ()


def test_raising_script_fails_only_that_request() -> None:
    def script(r: Request) -> str:
        if r.id == "bad":
            raise KeyError("boom")
        return "fine"

    results = list(ScriptedEngine(script).run([req("ok1"), req("bad"), req("ok2")]))
    assert [(r.id, r.ok) for r in results] == [("ok1", True), ("bad", False), ("ok2", True)]
    assert results[1].error == "KeyError: 'boom'"


def test_context_manager_closes() -> None:
    with ScriptedEngine({}) as engine:
        assert not engine.closed
    assert engine.closed


def test_derive_seed_is_stable_and_spreads() -> None:
    assert derive_seed(0, "a") == derive_seed(0, "a")
    seeds = {derive_seed(0, f"r{i}") for i in range(1000)}
    assert len(seeds) == 1000
    assert derive_seed(1, "a") != derive_seed(0, "a")
    assert all(0 <= s < 2**31 for s in seeds)


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="at least 1 item"):
        Request(id="a", messages=[])
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Sampling(n=0)
    with pytest.raises(ValueError, match="Extra inputs"):
        Sampling(guided_json={})  # type: ignore[call-arg]
