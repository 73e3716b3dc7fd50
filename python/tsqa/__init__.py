"""tsqa: curated synthetic Q&A from the training splits of lm-eval tasks."""

from importlib.metadata import version as _dist_version

__version__ = _dist_version("tsqa")

__all__ = ["__version__"]
