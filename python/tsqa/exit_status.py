"""Process exit codes, shared by every command (terraform's -detailed-exitcode convention)."""

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    """Nothing wrong; for plan: nothing to do."""
    FAILURE = 1
    """Errors were found or the command failed."""
    CHANGES = 2
    """plan --detailed-exitcode: there is work to do."""
