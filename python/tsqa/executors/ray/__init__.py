"""`executor: {kind: ray}`: model stages on a pool of engine actors (one per replica), connected
with `connect()`; Ray is imported only when this executor is used (`pip install tsqa[ray]`)."""

from tsqa.executors.ray.cluster import connect, require_ray
from tsqa.executors.ray.pool import RayEngine

__all__ = ["RayEngine", "connect", "require_ray"]
