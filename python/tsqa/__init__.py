"""tsqa: curated synthetic Q&A from the training splits of lm-eval tasks."""

__version__ = "0.1.0"
"""The package's version, as pyproject.toml and Cargo.toml declare it (tests/test_version.py
checks all three agree). A literal: `importlib.metadata` costs ~25 ms of every command's start."""

__all__ = ["__version__"]
