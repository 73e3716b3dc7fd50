"""`workers: N` on one node: N engine replicas, each in its own process with its own device set,
behind one request stream.

    layout = plan_layout(workers=4, tensor_parallel_size=2)    # GPUs 0-1, 2-3, 4-5, 6-7
    with ReplicaEngine(config, layout) as engine:
        for result in stream(engine, requests): ...

Each replica process pins its devices before anything imports torch (`CUDA_VISIBLE_DEVICES` on
GPU; on CPU its share of the cores through `VLLM_CPU_OMP_THREADS_BIND`), builds the ordinary
single engine for the model and runs that engine's stream. Work is stolen, not dealt: the driver
puts small batches on one shared queue and a replica takes the next batch only when it has room
in flight, so a faster or less loaded replica simply takes more. Sampling is seeded per request,
so which replica serves a request never changes its result.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, Self

from tsqa.engines.base import Engine, EngineError, EngineStream, Request, Result, StreamingEngine, stream

log = logging.getLogger(__name__)

BATCH = 8
"""Requests per queue item: small enough to balance, large enough that queue traffic is noise."""
START_TIMEOUT_S = 1800.0
"""A replica that has not loaded its model by then is reported as failed (large models take minutes)."""
_POLL_S = 0.5


@dataclass(frozen=True)
class Replica:
    index: int
    devices: tuple[int, ...]
    """GPU ids (`kind == "gpu"`) or CPU core ids (`kind == "cpu"`)."""
    kind: Literal["gpu", "cpu"]

    def env(self) -> dict[str, str]:
        ids = ",".join(map(str, self.devices))
        if self.kind == "gpu":
            return {"CUDA_VISIBLE_DEVICES": ids}
        # One OpenMP thread per core of this replica; TP ranks would split it with "|".
        return {"VLLM_CPU_OMP_THREADS_BIND": ids, "OMP_NUM_THREADS": str(len(self.devices))}

    def describe(self) -> str:
        return (
            f"replica {self.index}: {'GPU' if self.kind == 'gpu' else 'CPU cores'} {','.join(map(str, self.devices))}"
        )


@dataclass(frozen=True)
class ReplicaLayout:
    replicas: tuple[Replica, ...]
    tensor_parallel_size: int

    @property
    def kind(self) -> str:
        return self.replicas[0].kind

    def describe(self) -> str:
        """One line for `tsqa plan`: how the workers map onto this node's devices."""
        unit = "GPU" if self.kind == "gpu" else "CPU cores"
        parts = "; ".join(f"{unit} {','.join(map(str, r.devices))}" for r in self.replicas)
        return f"{len(self.replicas)} replica(s) × TP {self.tensor_parallel_size}: {parts}"


def visible_gpus() -> list[int]:
    """This node's usable GPU ids: `CUDA_VISIBLE_DEVICES` when set, else what nvidia-smi lists
    (no torch import, no CUDA context in the driver)."""
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:
        return [int(x) for x in mask.split(",") if x.strip().isdigit()]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [i for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def plan_layout(
    workers: int, tensor_parallel_size: int = 1, *, gpus: Sequence[int] | None = None, cpus: Sequence[int] | None = None
) -> ReplicaLayout:
    """Contiguous device groups, one per replica. GPUs when the node has any, else CPU cores split
    evenly (each replica gets at least one)."""
    if workers < 1 or tensor_parallel_size < 1:
        raise EngineError(f"workers={workers} and tensor_parallel_size={tensor_parallel_size} must be >= 1")
    gpu_ids = list(visible_gpus() if gpus is None else gpus)
    if gpu_ids:
        need = workers * tensor_parallel_size
        if need > len(gpu_ids):
            raise EngineError(
                f"workers: {workers} × tensor_parallel_size: {tensor_parallel_size} needs {need} GPUs; "
                f"this node has {len(gpu_ids)} ({','.join(map(str, gpu_ids))}): lower workers, or run on Ray"
            )
        groups = [tuple(gpu_ids[i * tensor_parallel_size : (i + 1) * tensor_parallel_size]) for i in range(workers)]
        return ReplicaLayout(tuple(Replica(i, g, "gpu") for i, g in enumerate(groups)), tensor_parallel_size)
    cores = sorted(os.sched_getaffinity(0)) if cpus is None else list(cpus)
    if workers > len(cores):
        raise EngineError(f"workers: {workers} CPU replicas need at least {workers} cores; this node has {len(cores)}")
    share, extra = divmod(len(cores), workers)
    replicas, start = [], 0
    for i in range(workers):
        size = share + (i < extra)
        replicas.append(Replica(i, tuple(cores[start : start + size]), "cpu"))
        start += size
    return ReplicaLayout(tuple(replicas), tensor_parallel_size)


EngineBuilder = Callable[[Any], Engine]
"""Builds one replica's engine from the model config, inside the replica process (module-level, so
it pickles): `tsqa.engines.registry.create_single_engine` for real models."""


def _replica_main(
    replica: Replica,
    builder: EngineBuilder,
    config: Any,
    work: Any,
    results: Any,
    epoch: Any,
    max_in_flight: int | None,
) -> None:
    """One replica: pin devices, build the engine, then steal batches and stream them through it."""
    os.environ.update(replica.env())
    try:
        engine = builder(config)
    except Exception as exc:  # EngineError and load failures alike: the driver reports it
        results.put(("failed", replica.index, f"{type(exc).__name__}: {exc}"))
        return
    results.put(("ready", replica.index, None))
    try:
        _serve(replica.index, engine, work, results, epoch, max_in_flight)
    except Exception as exc:  # an engine that died mid-stream
        results.put(("failed", replica.index, f"{type(exc).__name__}: {exc}"))
    finally:
        engine.close()


def _serve(index: int, engine: Engine, work: Any, results: Any, epoch: Any, max_in_flight: int | None) -> None:
    if not isinstance(engine, StreamingEngine):
        raise EngineError(f"engine {engine.name!r} has no request stream to run as a replica")
    bound = max_in_flight or engine.max_in_flight
    session: EngineStream = engine.open_stream()
    current = epoch.value
    while True:
        if epoch.value != current:  # the driver abandoned that stream: drop what is left of it
            session.close()
            session, current = engine.open_stream(), epoch.value
        while session.in_flight < bound:
            try:
                item = work.get(timeout=_POLL_S) if session.in_flight == 0 else work.get_nowait()
            except queue.Empty:
                break
            if item is None:  # shutdown
                session.close()
                return
            item_epoch, batch = item
            if item_epoch != epoch.value:
                continue
            requests = [Request.model_validate(r) for r in batch]
            early = session.add(requests)
            results.put(("results", index, (item_epoch, [r.model_dump(mode="json") for r in early], len(requests))))
        if session.in_flight:
            done = session.step()
            if done:
                results.put(("results", index, (current, [r.model_dump(mode="json") for r in done], 0)))


class ReplicaEngine:
    """N replicas behind one stream; `served[i]` counts the requests replica i took."""

    name = "replicas"

    def __init__(
        self,
        config: Any,
        layout: ReplicaLayout,
        *,
        builder: EngineBuilder | None = None,
        max_in_flight_per_replica: int | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        if builder is None:
            from tsqa.engines.registry import create_single_engine

            builder = create_single_engine
        self.layout = layout
        ctx = mp.get_context("spawn")  # a fresh interpreter: devices are pinned before torch loads
        self._work: Any = ctx.Queue()
        self._results: Any = ctx.Queue()
        self._epoch: Any = ctx.Value("i", 0)
        self.served = [0] * len(layout.replicas)
        per = max_in_flight_per_replica
        # Enough queued for every replica to stay full, plus one batch each to steal next.
        self.max_in_flight = len(layout.replicas) * ((per or 256) + BATCH)
        self._procs = []
        for replica in layout.replicas:
            proc = ctx.Process(
                target=_replica_main,
                args=(replica, builder, config, self._work, self._results, self._epoch, per),
                name=f"tsqa-replica-{replica.index}",
                daemon=False,  # vLLM starts its own engine-core process inside each replica
            )
            proc.start()
            self._procs.append(proc)
        self._streaming = False
        try:
            self._wait_ready(start_timeout_s)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        """All replicas loaded before any work is queued: an early one would otherwise steal it all."""
        ready: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(ready) < len(self._procs):
            kind, index, payload = self._get(deadline)
            if kind == "failed":
                raise EngineError(f"engine replica {index} failed to start: {payload}")
            if kind == "ready":
                ready.add(index)

    def _get(self, deadline: float | None = None) -> tuple[str, int, Any]:
        while True:
            try:
                item: tuple[str, int, Any] = self._results.get(timeout=_POLL_S * 4)
                return item
            except queue.Empty:
                dead = [(i, p.exitcode) for i, p in enumerate(self._procs) if not p.is_alive()]
                if dead:
                    i, code = dead[0]
                    raise EngineError(f"engine replica {i} exited (code {code}); see its log above") from None
                if deadline is not None and time.monotonic() > deadline:
                    raise EngineError("engine replicas did not start in time") from None

    # -- the Engine protocol ---------------------------------------------------------------------
    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Completion order (ids match results to requests)."""
        return stream(self, requests)

    def open_stream(self) -> EngineStream:
        if self._streaming:
            raise EngineError("the replicas already have an open stream")
        return _ReplicaStream(self)

    def close(self) -> None:
        procs, self._procs = self.__dict__.get("_procs", []), []
        for _ in procs:
            self._work.put(None)
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        if procs:
            self._work.close()
            self._results.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ReplicaStream:
    """Queue batches, collect results; `in_flight` counts queued plus running requests."""

    def __init__(self, engine: ReplicaEngine) -> None:
        self._engine = engine
        engine._streaming = True
        self._in_flight = 0
        self._ready: list[Result] = []
        self._epoch = engine._epoch.value

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def add(self, requests: Sequence[Request]) -> list[Result]:
        source = iter(requests)
        while batch := list(islice(source, BATCH)):
            self._engine._work.put((self._epoch, [r.model_dump(mode="json") for r in batch]))
            self._in_flight += len(batch)
        return []

    def step(self) -> list[Result]:
        """Blocks until some results are back (the replicas generate meanwhile)."""
        kind, index, payload = self._engine._get()
        if kind == "failed":
            raise EngineError(f"engine replica {index} failed: {payload}")
        if kind != "results":
            return []
        epoch, rows, taken = payload
        if epoch != self._epoch:  # a late result of an abandoned stream
            return []
        self._engine.served[index] += taken
        done = [Result.model_validate(r) for r in rows]
        self._in_flight -= len(done)
        return done

    def close(self) -> None:
        if self._in_flight:
            with self._engine._epoch.get_lock():  # replicas drop this stream's queued batches
                self._engine._epoch.value += 1
        self._in_flight = 0
        self._engine._streaming = False


def describe_workers(config: Any, executor_kind: str = "local") -> str:
    """How a model's `workers` run, for the plan's wave table: the replica layout on this node
    (local), the actor pool (ray) or the endpoint's concurrency (openai)."""
    workers = int(getattr(config, "workers", 1))
    if getattr(config, "engine", "vllm") == "openai":
        return f"endpoint × {workers}: {int(config.max_concurrency) * workers} requests in flight"
    tp = int(getattr(config, "tensor_parallel_size", 1))
    if executor_kind == "ray":
        return f"{workers} Ray actor(s), one placement group of {tp} GPU(s) each (CPU on a CPU cluster)"
    if workers == 1:
        return f"1 engine in this process × TP {tp}"
    try:
        return plan_layout(workers, tp).describe()
    except EngineError as exc:
        return f"does not fit this node: {exc}"
