"""Connecting to the Ray cluster named by `executor.address` (`auto`: the cluster this node joined
with `ray start`; or `ray://host:10001`, or `host:6379`)."""

from __future__ import annotations

from typing import Any

from tsqa.engines.base import EngineError

INSTALL_HINT = "install it with `pip install 'tsqa[ray]'` (ray[data]==2.60.0)"


def require_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise EngineError(f"executor kind 'ray' needs Ray, which is not importable ({exc}); {INSTALL_HINT}") from None
    return ray


def connect(address: str = "auto", *, runtime_env: dict[str, Any] | None = None) -> Any:
    """`ray.init` once per process; a clear message when no cluster answers at `address`."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EngineError(
            f"no Ray cluster at address {address!r} ({type(exc).__name__}: {str(exc).strip()[:200]}); "
            "start one with `ray start --head` (see README: Ray cluster) or fix executor.address"
        ) from None
    return ray
