"""A model's replicas on a Ray cluster behind the ordinary engine stream.

    ray = connect("auto")
    with RayEngine(config, replicas=8) as engine:          # 8 actors, TP GPUs each
        for result in stream(engine, requests): ...

Each replica is one `EngineActor` in its own placement group (one bundle of `tensor_parallel_size`
GPUs, STRICT_PACK: a TP group never spans nodes), so the cluster either has room for a replica or
says why not. The driver deals small batches to whichever actor has the fewest outstanding, keeping
`depth` batches queued on each so its engine never drains; a fast actor simply returns more often
and gets more. When an actor or its node dies, Ray restarts the actor (`max_restarts`) and the
batches it held are sent again; results are collected by request id, so a batch answered twice
(a late reply from a "dead" actor) is counted once: nothing lost, nothing duplicated. An actor
that is dead for good (its restarts used up, GCS state DEAD) is dealt nothing more; its batches go
to the actors left, and the stream stops with a clear error only when none is left.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Self

from tsqa.engines.base import Engine, EngineError, EngineStream, Request, Result, stream
from tsqa.executors.ray.actor import EngineActor
from tsqa.executors.ray.cluster import require_ray

log = logging.getLogger(__name__)

BATCH = 32
"""Requests per actor call."""
DEPTH = 4
"""Batches outstanding per actor: one running to completion while the next ones are queued inside."""
MAX_BATCH_RETRIES = 5
"""Resubmissions of one batch after actor deaths before the run stops (a resume retries it)."""
READY_TIMEOUT_S = 1800.0


@dataclass
class _Batch:
    number: int
    requests: list[Request]
    attempts: int = 0


@dataclass
class _Actor:
    index: int
    handle: Any
    outstanding: dict[Any, _Batch] = field(default_factory=dict)  # object ref → batch
    served: int = 0
    dead: str | None = None
    """Why this actor is gone for good (restarts exhausted); it is dealt nothing more."""


class RayEngine:
    """`replicas` engine actors for one model config; a `StreamingEngine` for `stream()`."""

    name = "ray"

    def __init__(
        self,
        config: Any,
        replicas: int,
        *,
        seed: int = 0,
        gpus_per_replica: float | None = None,
        cpus_per_replica: float = 1.0,
        batch_size: int = BATCH,
        depth: int = DEPTH,
        max_restarts: int = 3,
        env: dict[str, str] | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        builder: Callable[[Any], Engine] | None = None,
    ) -> None:
        ray = require_ray()
        if not ray.is_initialized():
            raise EngineError("RayEngine needs a connected Ray cluster (tsqa.executors.ray.connect)")
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        self._ray = ray
        self._remove_pg = remove_placement_group
        tp = int(getattr(config, "tensor_parallel_size", 1))
        gpus = float(tp if gpus_per_replica is None else gpus_per_replica * tp)
        if getattr(config, "engine", "vllm") == "openai":
            gpus = 0.0  # an endpoint client holds no accelerator
        elif not ray.cluster_resources().get("GPU"):
            gpus = 0.0  # a CPU cluster: CPU replicas (the vLLM CPU build)
        bundle = {"CPU": cpus_per_replica, **({"GPU": gpus} if gpus else {})}
        remote = ray.remote(EngineActor)
        options = {
            "num_cpus": cpus_per_replica,
            "num_gpus": gpus,
            "max_restarts": max_restarts,
            "max_concurrency": depth + 2,  # batches wait concurrently inside one engine loop
        }
        self.batch_size, self.depth = batch_size, depth
        self.max_in_flight = replicas * depth * batch_size
        self._groups: list[Any] = []
        self._actors: list[_Actor] = []
        try:
            for index in range(replicas):
                group = placement_group(
                    [bundle], strategy="STRICT_PACK", name=f"tsqa-{getattr(config, 'model', 'm')}-{index}"
                )
                self._groups.append(group)
                handle = remote.options(
                    **options,
                    scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=0),
                ).remote(config, seed, env or {}, builder)
                self._actors.append(_Actor(index, handle))
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.close()
            raise
        self._streaming = False

    def _wait_ready(self, timeout_s: float) -> None:
        refs = [a.handle.ready.remote() for a in self._actors]
        try:
            self.nodes = [info["node"] for info in self._ray.get(refs, timeout=timeout_s)]
        except self._ray.exceptions.GetTimeoutError:
            raise EngineError(
                f"{len(self._actors)} engine actors did not start within {timeout_s:.0f} s: does the cluster have "
                f"room for them (`ray status`)?"
            ) from None
        except self._ray.exceptions.RayError as exc:
            raise EngineError(f"an engine actor failed to start: {_cause(exc)}") from None

    @property
    def served(self) -> list[int]:
        return [a.served for a in self._actors]

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        return stream(self, requests)

    def open_stream(self) -> EngineStream:
        if self._streaming:
            raise EngineError("this Ray engine already has an open stream")
        return _RayStream(self)

    def close(self) -> None:
        actors, self._actors = self.__dict__.get("_actors", []), []
        for actor in actors:
            try:
                self._ray.get(actor.handle.close.remote(), timeout=60)
            except Exception as exc:  # noqa: BLE001 -- already dead: nothing to close
                log.debug("actor close: %s", exc)
            self._ray.kill(actor.handle, no_restart=True)
        for group in self.__dict__.get("_groups", []):
            self._remove_pg(group)
        self._groups = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _RayStream:
    def __init__(self, engine: RayEngine) -> None:
        self._engine = engine
        self._ray = engine._ray
        engine._streaming = True
        self._queued: deque[_Batch] = deque()
        self._numbers = 0
        self._in_flight = 0
        self._answered: set[tuple[int, str]] = set()  # (batch, request id) already handed out

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def add(self, requests: Sequence[Request]) -> list[Result]:
        source = iter(requests)
        while batch := list(islice(source, self._engine.batch_size)):
            self._queued.append(_Batch(self._numbers, batch))
            self._numbers += 1
            self._in_flight += len(batch)
        self._dispatch()
        return []

    def _dispatch(self) -> None:
        actors = [a for a in self._engine._actors if a.dead is None]
        if self._queued and not actors:
            causes = "; ".join(f"actor {a.index}: {a.dead}" for a in self._engine._actors)
            raise EngineError(
                f"all {len(self._engine._actors)} engine actors died for good (Ray restarts used up): {causes}; "
                "work already finished is kept, run `tsqa apply` again to retry the rest"
            )
        while self._queued:
            actor = min(actors, key=lambda a: len(a.outstanding))
            if len(actor.outstanding) >= self._engine.depth:
                return
            batch = self._queued.popleft()
            batch.attempts += 1
            ref = actor.handle.generate.remote([r.model_dump(mode="json") for r in batch.requests])
            actor.outstanding[ref] = batch

    def step(self) -> list[Result]:
        refs = {ref: actor for actor in self._engine._actors for ref in actor.outstanding}
        if not refs:
            self._dispatch()
            return []
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=5.0)
        done: list[Result] = []
        for ref in ready:
            actor = refs[ref]
            batch = actor.outstanding.pop(ref)
            try:
                rows = self._ray.get(ref)
            except (self._ray.exceptions.RayActorError, self._ray.exceptions.ObjectLostError) as exc:
                self._retry(batch, actor, exc)
                continue
            except self._ray.exceptions.RayTaskError as exc:  # the engine itself failed (not the actor)
                raise EngineError(f"engine actor {actor.index} failed: {_cause(exc)}") from None
            actor.served += len(batch.requests)
            for row in rows:
                key = (batch.number, row["id"])
                if key not in self._answered:
                    self._answered.add(key)
                    done.append(Result.model_validate(row))
            self._in_flight -= len(batch.requests)
        self._dispatch()
        return done

    def _retry(self, batch: _Batch, actor: _Actor, exc: BaseException) -> None:
        if actor.dead is None and self._dead_for_good(actor):
            actor.dead = _cause(exc)
            log.warning("engine actor %d is dead for good (%s); its work goes to the others", actor.index, actor.dead)
        if actor.dead is not None:  # not the batch's fault: no attempt counted, no back-off
            batch.attempts -= 1
            self._queued.appendleft(batch)
            return
        if batch.attempts > MAX_BATCH_RETRIES:
            raise EngineError(
                f"a batch of {len(batch.requests)} requests failed {batch.attempts} times as engine actors died "
                f"(last: {_cause(exc)}); run `tsqa apply` again to retry it"
            ) from None
        log.warning(
            "engine actor %d died (%s); resubmitting its batch of %d", actor.index, _cause(exc), len(batch.requests)
        )
        time.sleep(min(5.0, 0.5 * batch.attempts))  # give Ray a moment to restart the actor
        self._queued.appendleft(batch)

    def _dead_for_good(self, actor: _Actor) -> bool:
        """Ray's GCS says DEAD (not RESTARTING): no restart is left for this actor."""
        try:
            from ray._private.state import actors as actor_table

            info = actor_table(actor.handle._actor_id.hex())
        except Exception as exc:  # noqa: BLE001 -- no answer: keep treating it as restartable
            log.debug("actor state: %s", exc)
            return False
        return isinstance(info, dict) and info.get("State") == "DEAD"

    def close(self) -> None:
        for actor in self._engine._actors:
            for ref in actor.outstanding:
                try:
                    self._ray.cancel(ref)
                except Exception as exc:  # noqa: BLE001 -- finished or gone meanwhile
                    log.debug("cancel: %s", exc)
            actor.outstanding.clear()
        self._queued.clear()
        self._in_flight = 0
        self._engine._streaming = False


def _cause(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
