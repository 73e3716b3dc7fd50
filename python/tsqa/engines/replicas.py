"""`workers: N` on one node: N engine replicas, each in its own process with its own device set,
behind one request stream.

    layout = plan_layout(workers=4, tensor_parallel_size=2)    # GPUs 0-1, 2-3, 4-5, 6-7
    with ReplicaEngine(config, layout) as engine:
        for result in stream(engine, requests): ...

Each replica process pins its devices before anything imports torch (`CUDA_VISIBLE_DEVICES` on
GPU; on CPU its share of the cores through `VLLM_CPU_OMP_THREADS_BIND`), builds the ordinary
single engine for the model and runs that engine's stream. Work is dealt, not pulled: each
request goes to the replica with the least estimated cost dealt so far (prompt + max_tokens × n
tokens), so the split is deterministic and even whatever else runs on the node (a shared pull
queue measured 49/111 on 2 cores when one replica shared its core with the driver). Each replica
has its own queue; only once the driver has no more input does an idle replica steal queued
batches from the others (tail stealing), so a slow replica cannot hold the end of the run while
the split stays within a batch or two of even. Sampling is seeded per request, so which replica
serves a request never changes its result.

A replica never outlives its driver: on Linux the kernel signals it when the driver dies
(`PR_SET_PDEATHSIG`), and everywhere a watchdog thread in the replica sees its parent change
and exits, taking the engine's own child processes (vLLM's engine core) with it, so a
SIGKILLed `tsqa apply` leaves no process holding a GPU.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from tsqa.engines.base import Engine, EngineError, EngineStream, Request, Result, StreamingEngine, stream

log = logging.getLogger(__name__)

BATCH = 4
"""Requests per queue item: the unit a thief steals at the tail, so small; queue traffic stays noise."""
CHARS_PER_TOKEN = 4
"""Prompt size estimate for dealing (no tokenizer in the driver); only relative costs matter."""
START_TIMEOUT_S = 1800.0
"""A replica that has not loaded its model by then is reported as failed (large models take minutes)."""
_POLL_S = 0.5
_WATCHDOG_S = 1.0
"""How often a replica checks that its driver is still alive."""
CLOSE_TIMEOUT_S = 30.0
"""How long closing waits, for all replicas together, before terminating the ones still running."""


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


def request_cost(request: Request) -> int:
    """Estimated tokens a request costs its replica: the prompt plus every sample's budget."""
    prompt = sum(len(m.content) for m in request.messages) // CHARS_PER_TOKEN + 1
    return prompt + request.sampling.max_tokens * request.sampling.n


@dataclass
class _Channels:
    """What a replica process shares with the driver: one work queue per replica, the results
    queue, the current stream's epoch and the epoch whose input has ended (tail stealing allowed)."""

    work: list[Any]
    results: Any
    epoch: Any
    draining: Any


def _orphaned(*_: object) -> None:
    """The driver is gone: stop the engine's own processes, then this one, at once."""
    for child in mp.active_children():
        child.terminate()
    os._exit(1)


def _die_with_parent(parent_pid: int, kernel_signal: bool) -> None:
    """Never outlive the driver (a replica holds a model and its GPUs)."""
    if kernel_signal and sys.platform.startswith("linux"):
        import ctypes

        try:  # PR_SET_PDEATHSIG = 1: SIGTERM when the thread that started us exits
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
            signal.signal(signal.SIGTERM, _orphaned)
        except (OSError, AttributeError):  # no prctl here: the watchdog below is enough
            pass
    if os.getppid() != parent_pid:  # died before the signal was armed
        _orphaned()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_WATCHDOG_S)
        _orphaned()

    threading.Thread(target=watch, name="tsqa-replica-watchdog", daemon=True).start()


def _replica_main(
    replica: Replica,
    builder: EngineBuilder,
    config: Any,
    channels: _Channels,
    max_in_flight: int | None,
    parent: tuple[int, bool] | None = None,
) -> None:
    """One replica: pin devices, build the engine, then serve its queue (and steal at the tail)."""
    if parent is not None:
        _die_with_parent(*parent)
    os.environ.update(replica.env())
    results = channels.results
    try:
        engine = builder(config)
    except Exception as exc:  # EngineError and load failures alike: the driver reports it
        results.put(("failed", replica.index, f"{type(exc).__name__}: {exc}"))
        return
    results.put(("ready", replica.index, None))
    try:
        _serve(replica.index, engine, channels, max_in_flight)
    except Exception as exc:  # an engine that died mid-stream
        results.put(("failed", replica.index, f"{type(exc).__name__}: {exc}"))
    finally:
        engine.close()


class _Shutdown(Exception):
    pass


def _take(channels: _Channels, index: int, *, block: bool) -> tuple[int, list[Any], bool] | None:
    """The next batch for replica `index`: its own queue first; when the driver's input has ended,
    a batch still queued for another replica (`stolen`). None when there is nothing to take."""
    own = channels.work[index]
    try:
        item = (
            own.get(timeout=_POLL_S) if block and channels.draining.value != channels.epoch.value else own.get_nowait()
        )
    except queue.Empty:
        item = False
    if item is None:
        raise _Shutdown
    if item is not False:
        return item[0], item[1], False
    if channels.draining.value != channels.epoch.value:
        return None
    n = len(channels.work)
    for victim in ((index + k) % n for k in range(1, n)):
        try:
            stolen = channels.work[victim].get_nowait()
        except queue.Empty:
            continue
        if stolen is None:  # shutting down: leave the victim its sentinel
            channels.work[victim].put(None)
            raise _Shutdown
        return stolen[0], stolen[1], True
    if block:
        time.sleep(_POLL_S / 10)  # nothing anywhere: the driver is collecting the last results
    return None


def _serve(index: int, engine: Engine, channels: _Channels, max_in_flight: int | None) -> None:
    if not isinstance(engine, StreamingEngine):
        raise EngineError(f"engine {engine.name!r} has no request stream to run as a replica")
    bound = max_in_flight or engine.max_in_flight
    results, epoch = channels.results, channels.epoch
    session: EngineStream = engine.open_stream()
    current = epoch.value
    try:
        while True:
            if epoch.value != current:  # the driver abandoned that stream: drop what is left of it
                session.close()
                session, current = engine.open_stream(), epoch.value
            while session.in_flight < bound:
                taken = _take(channels, index, block=session.in_flight == 0)
                if taken is None:
                    break
                item_epoch, batch, stolen = taken
                if item_epoch != epoch.value:
                    continue
                requests = [Request.model_validate(r) for r in batch]
                early = session.add(requests)
                payload = (item_epoch, [r.model_dump(mode="json") for r in early], len(requests), stolen)
                results.put(("results", index, payload))
            if session.in_flight:
                done = session.step()
                if done:
                    results.put(("results", index, (current, [r.model_dump(mode="json") for r in done], 0, False)))
    except _Shutdown:
        pass
    finally:
        session.close()


class ReplicaEngine:
    """N replicas behind one stream. `served[i]` counts the requests replica i took (its own and
    stolen ones), `stolen[i]` those it took from another replica's queue at the tail."""

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
        n = len(layout.replicas)
        self._channels = _Channels(
            work=[ctx.Queue() for _ in range(n)],
            results=ctx.Queue(),
            epoch=ctx.Value("i", 0),
            draining=ctx.Value("i", -1),
        )
        self._results: Any = self._channels.results
        self._epoch: Any = self._channels.epoch
        self.served = [0] * n
        self.stolen = [0] * n
        self.dealt_cost = [0] * n
        """Estimated tokens dealt to each replica, over the engine's life (what assignment balances)."""
        per = max_in_flight_per_replica
        # Enough queued for every replica to stay full, plus a batch each queued behind it.
        self.max_in_flight = n * ((per or 256) + BATCH)
        self._procs = []
        # The kernel's parent-death signal follows the starting *thread*: armed only from the main
        # thread, which lives as long as the driver (from another one the watchdog alone guards).
        parent = (os.getpid(), threading.current_thread() is threading.main_thread())
        for replica in layout.replicas:
            proc = ctx.Process(
                target=_replica_main,
                args=(replica, builder, config, self._channels, per, parent),
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
        """All replicas loaded before any work is queued (a load failure is reported before work waits)."""
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
        if procs:
            with self._epoch.get_lock():  # queued batches are dropped, not served, before the sentinel
                self._epoch.value += 1
        for work in self._channels.work if procs else ():
            work.put(None)
        deadline = time.monotonic() + CLOSE_TIMEOUT_S  # one budget for all: a dead replica costs nothing
        for proc in procs:
            # A replica exits only once its queued results reach the pipe: read (and drop) them
            # while waiting, or a full pipe holds it until the deadline.
            while proc.is_alive() and time.monotonic() < deadline:
                proc.join(timeout=_POLL_S)
                self._drop_results()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        if procs:
            for work in self._channels.work:
                work.close()
            self._results.close()

    def _drop_results(self) -> None:
        try:
            while True:
                self._results.get_nowait()
        except (queue.Empty, OSError, ValueError):  # empty, or the queue already closed
            return

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ReplicaStream:
    """Deal batches to the replicas' queues, collect results; `in_flight` counts queued plus
    running requests."""

    def __init__(self, engine: ReplicaEngine) -> None:
        self._engine = engine
        engine._streaming = True
        self._in_flight = 0
        self._epoch = engine._epoch.value
        self._owner: dict[str, int] = {}  # request id → the replica it was dealt to
        self._outstanding = [0] * len(engine.dealt_cost)
        engine._channels.draining.value = -1  # a new stream's input has not ended

    @property
    def in_flight(self) -> int:
        """As if every replica held as much as the fullest one: the driver adds work only when the
        fullest has room, so a slow replica's queue never grows past its share of the bound and the
        tail that others may steal from stays a batch or two."""
        return len(self._outstanding) * max(self._outstanding) if self._in_flight else 0

    def add(self, requests: Sequence[Request]) -> list[Result]:
        """Each request to the replica with the least cost dealt so far (ties: the lowest index), so
        the assignment depends only on the requests and their order, never on timing."""
        engine = self._engine
        dealt = engine.dealt_cost
        hands: list[list[dict[str, Any]]] = [[] for _ in dealt]
        for request in requests:
            target = min(range(len(dealt)), key=dealt.__getitem__)
            dealt[target] += request_cost(request)
            self._owner[request.id] = target
            self._outstanding[target] += 1
            hand = hands[target]
            hand.append(request.model_dump(mode="json"))
            if len(hand) == BATCH:
                engine._channels.work[target].put((self._epoch, hand))
                hands[target] = []
        for target, hand in enumerate(hands):
            if hand:
                engine._channels.work[target].put((self._epoch, hand))
        self._in_flight += len(requests)
        return []

    def end_of_input(self) -> None:
        """The driver has nothing more to add: idle replicas may now steal what others still queue."""
        self._engine._channels.draining.value = self._epoch

    def step(self) -> list[Result]:
        """Blocks until some results are back (the replicas generate meanwhile)."""
        kind, index, payload = self._engine._get()
        if kind == "failed":
            raise EngineError(f"engine replica {index} failed: {payload}")
        if kind != "results":
            return []
        epoch, rows, taken, stolen = payload
        if epoch != self._epoch:  # a late result of an abandoned stream
            return []
        self._engine.served[index] += taken
        if stolen:
            self._engine.stolen[index] += taken
        done = [Result.model_validate(r) for r in rows]
        for result in done:
            owner = self._owner.pop(result.id, None)
            if owner is not None:
                self._outstanding[owner] -= 1
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
