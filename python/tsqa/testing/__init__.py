"""Test support shipped with tsqa: a tiny local model for running the real engines in CI."""
