"""Errors of seed loading: user errors carry a message that names the file, line or record."""

from __future__ import annotations


class SeedError(Exception):
    """A seed that cannot be read; the message is for the user (no traceback needed)."""


class EvalSplitRefused(SeedError):
    """The seed points at evaluation data (a validation/test split, or data named like one)."""


class SeedPathRefused(EvalSplitRefused):
    """A seed path resolves outside the project, the data dir and the roots tsqa.yaml allows."""


class ContentRefused(EvalSplitRefused):
    """Seed rows that are eval rows (by content), or a snapshot that is not what fetch wrote."""


class SeedDataError(SeedError):
    """The seed data itself is broken: a missing file, a bad JSON line, an unusable column."""


class SeedNotFetched(SeedError):
    """The seed store has no snapshot for this spec; run `tsqa seeds fetch`."""
