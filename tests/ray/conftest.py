"""A real two-node Ray cluster on this machine: a head and a second node joined with
`ray start --address`, one logical CPU each, each with its own temp dir.

Stopped by process group and then by the pids whose command line names our temp dirs: never
`ray stop`, which would stop every Ray on the machine (other users' too).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install 'tsqa[ray]'")


@dataclass
class LocalCluster:
    address: str
    head_dir: Path
    worker_dir: Path
    nodes: list[subprocess.Popen[bytes]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    ray_cli = Path(sys.executable).with_name("ray")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(ray_cli), "start", "--block", "--disable-usage-stats", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so we stop exactly this node
        )


def _stop(cluster: LocalCluster) -> None:
    for proc in reversed(cluster.nodes):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in cluster.nodes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    # Ray daemons that left the group (they name their session dir on the command line)
    ours = (str(cluster.head_dir), str(cluster.worker_dir))
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(d in cmdline for d in ours):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid_dir.name), signal.SIGKILL)


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process we can read."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        yield int(pid_dir.name), ppid, cmdline


def actor_pids(cluster: LocalCluster, class_name: str) -> list[int]:
    """Worker processes of this cluster (children of its raylets) running an actor of `class_name`
    (Ray titles them `ray::<Class>`); read from /proc: the dashboard's state API is off here."""
    procs = list(_processes())
    ours = (str(cluster.head_dir), str(cluster.worker_dir))
    raylets = {pid for pid, _, cmd in procs if "raylet" in cmd and any(d in cmd for d in ours)}
    return [pid for pid, ppid, cmd in procs if ppid in raylets and cmd.startswith(f"ray::{class_name}")]


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    import ray

    base = tmp_path_factory.mktemp("ray")
    head_dir, worker_dir = base / "h", base / "w"  # short: Ray's socket paths are bounded
    port = _free_port()
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
    }
    common = ["--num-cpus=1", "--num-gpus=0", "--object-store-memory=150000000"]
    cluster = LocalCluster(f"127.0.0.1:{port}", head_dir, worker_dir, [])
    try:
        cluster.nodes.append(
            _ray(
                "--head",
                f"--port={port}",
                "--node-ip-address=127.0.0.1",
                "--include-dashboard=false",
                f"--temp-dir={head_dir}",
                *common,
                env=env,
                log=base / "head.log",
            )
        )
        _wait_nodes(cluster.address, 1, base / "head.log")
        cluster.nodes.append(
            _ray(
                f"--address={cluster.address}",
                "--node-ip-address=127.0.0.1",
                f"--temp-dir={worker_dir}",
                *common,
                env=env,
                log=base / "worker.log",
            )
        )
        _wait_nodes(cluster.address, 2, base / "worker.log")
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(cluster)


def _wait_nodes(address: str, count: int, log: Path, timeout_s: float = 180.0) -> None:
    """Until `count` nodes are alive (asked in a subprocess: the test process connects later)."""
    code = (
        "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR');"
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(
            [sys.executable, "-c", code, address], capture_output=True, text=True, timeout=120, check=False
        )
        if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(count)]:
            return
        time.sleep(2)
    raise RuntimeError(f"Ray cluster at {address} did not reach {count} nodes; log: {log.read_text()[-2000:]}")


@pytest.fixture
def ray_connected(ray_cluster: LocalCluster) -> Iterator[LocalCluster]:
    from tsqa.executors.ray import connect

    connect(ray_cluster.address)
    yield ray_cluster
