"""`executor: {kind: ray}`: the same plan and the same stage code as the local executor, with the
work placed on a Ray cluster.

- Model stages: each model's engine is a `RayEngine` (one actor per `workers` replica); the
  executor's wave code drives it through the same engine stream as a local engine.
- Row-local stages (parse, verify, decontaminate, package …): Ray Data `map_batches` over the
  upstream shard paths, one shard per task (read there through `pyarrow.fs`), runs the stage's own
  `process` on the cluster, order preserved; the driver writes the outputs with the same
  shard writer, so the run directory, manifests and fingerprints are the executor-independent ones.
  The run directory must be on a filesystem every node sees (NFS, Lustre, a mounted bucket).

The driver keeps only what it writes; everything written is a resume point, so a killed driver
loses in-flight work only, and `tsqa apply` again finishes the run.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

from tsqa.engines.base import Engine
from tsqa.executors.ray.cluster import connect
from tsqa.executors.ray.pool import RayEngine
from tsqa.stages.base import Filtered, StageDef, TaskContext


@dataclass
class RayRuntime:
    """What the executor needs from Ray: engines for models, and a row-stage mapper."""

    address: str
    gpus_per_worker: float = 1.0

    @classmethod
    def connect(cls, executor: Any) -> RayRuntime:
        connect(executor.address)
        return cls(executor.address, float(getattr(executor, "num_gpus_per_worker", 1.0)))

    def engine_factory(self, builder: Callable[[Any], Engine] | None = None) -> Callable[[Any], Engine]:
        """Model config → its actor pool. `builder` (tests: a scripted engine) is shipped to the
        actors and called there instead of building the configured engine."""

        def factory(config: Any) -> Engine:
            return RayEngine(
                config,
                replicas=int(getattr(config, "workers", 1)),
                gpus_per_replica=self.gpus_per_worker,
                cpus_per_replica=_cpus_per_replica(),
                builder=builder,
            )

        return factory

    def map_rows(self, sdef: StageDef, task: TaskContext, upstream: Path) -> Iterator[Filtered]:
        """`sdef.process` over the shards in `upstream`, as Ray Data batches, in row order."""
        import ray.data

        from tsqa.store.shards import existing_shards

        shards = existing_shards(upstream)
        if not shards:
            return
        # Ray Data's usage poller thread logs a traceback (debug level) each time it cannot reach
        # a Prometheus server, also while the interpreter shuts down ("--- Logging error ---").
        logging.getLogger("ray.data._internal.usage").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # same row order as the local executor
        paths = [str(shards[i]) for i in sorted(shards)]
        # One row per shard path, each read inside its task: no read_parquet, whose file-listing
        # step asks a whole CPU. Every task asks the share a replica leaves free (Ray Data's default
        # of 1 CPU never fits beside engine actors on a small CPU-only node: the stage waited forever).
        work = partial(_process_shards, sdef.stage, portable(task))
        out = ray.data.from_items([{"path": p} for p in paths]).map_batches(
            work, batch_format="pyarrow", batch_size=1, num_cpus=_cpus_per_replica()
        )
        for batch in out.iter_batches(batch_format="pyarrow", batch_size=None):
            assert isinstance(batch, pa.Table)
            for kept, rejects in zip(
                batch.column("kept").to_pylist(), batch.column("rejects").to_pylist(), strict=True
            ):
                yield Filtered(_load(kept), _load(rejects))


def portable(task: TaskContext) -> TaskContext:
    """The task for a remote worker: readers of the run directory by path (no closures over the
    executor) and `with_context` decided here once."""
    with_context = task.with_context
    light = replace(task, read=_unavailable, shards=_unavailable, rows=_unavailable)
    light.__dict__["with_context"] = with_context  # the cached property, already answered
    return light


def _unavailable(*_: Any) -> Any:
    raise RuntimeError("row-local stages do not read other stages on Ray workers")


def _process_shards(stage: Any, task: TaskContext, batch: pa.Table) -> pa.Table:
    """Each upstream shard (by path, read here through pyarrow.fs) through the stage's own
    `process`; kept and rejected rows travel back as Arrow IPC (two schemas in one output row)."""
    import pyarrow.parquet as pq

    from tsqa.stages.registry import STAGES

    kept, rejects = [], []
    for path in batch.column("path").to_pylist():
        out = STAGES[stage].process(pq.read_table(path, filesystem=_filesystem(path)), task)
        kept.append(_dump(out.kept))
        rejects.append(_dump(out.rejects))
    return pa.table({"kept": kept, "rejects": rejects})


def _dump(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _load(data: bytes) -> pa.Table:
    return ipc.open_stream(io.BytesIO(data)).read_all()


def _filesystem(path: str) -> Any:
    import pyarrow.fs as pafs

    fs, _ = pafs.FileSystem.from_uri(path if "://" in path else Path(path).resolve().as_uri())
    return fs


def _cpus_per_replica() -> float:
    """A whole CPU per replica (and per row task), except on CPU-only clusters with few CPUs per
    node, where half of one each lets a row task run beside an engine replica on every node."""
    import ray

    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    nodes = max(1, len([n for n in ray.nodes() if n.get("Alive")]))  # type: ignore[no-untyped-call]
    return 1.0 if resources.get("GPU") or resources.get("CPU", 0) / nodes >= 4 else 0.5
