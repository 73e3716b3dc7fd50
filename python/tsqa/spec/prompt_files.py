"""Reading a prompt file (`prompt: {file: path}`): only a small UTF-8 text file of the project.

A prompt file's text is sent to a model, so a path a spec names must never reach anything else:
`{file: /proc/self/environ}` would put the environment's secrets into every request,
`{file: ../../etc/passwd}` any readable file, `{file: /dev/zero}` never ends. A prompt path is
held to the rules of seed paths (seeds/guard.py): resolved with every symlink followed, it must
lie inside the spec's folder, the project or a `seed_roots:` root of tsqa.yaml, never go through
/proc, /dev or /sys, and be a regular file of at most MAX_PROMPT_BYTES of UTF-8 text. Lint
refuses a bad one with its position (rule `prompt-file-unsafe`); the compiler reads through here
too, so nothing below lint opens it either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_PROMPT_BYTES = 256 * 1024
"""A prompt template is a page or two of text; more is a mistake or an attack."""


class PromptFileRefused(Exception):
    """A prompt file that may not be read; `missing` when it simply does not exist."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def prompt_file_path(file: str, base_dir: Path) -> Path:
    """The real path of prompt `file` (relative to `base_dir`), once it may be read.

    Raises PromptFileRefused naming the reason."""
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.guard import SeedRoots, resolve_steps, system_path

    path = base_dir / file
    if (step := system_path(path)) is not None:
        raise PromptFileRefused(f"prompt file {file!r} goes through {step}, a system path (/proc, /dev, /sys)")
    try:
        real, _ = resolve_steps(path)
    except (SeedError, OSError) as err:
        raise PromptFileRefused(f"prompt file {file!r}: {err}") from None
    roots = SeedRoots.around(base_dir)
    if roots.root_of(real) is None:
        raise PromptFileRefused(
            f"prompt file {file!r} resolves to {real}, outside the project; prompt files must live inside it "
            "(or under a root listed in tsqa.yaml `seed_roots:`)"
        )
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise PromptFileRefused(f"prompt file {file!r} not found (relative to {base_dir})", missing=True) from None
    except OSError as err:
        raise PromptFileRefused(f"prompt file {file!r}: cannot read: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise PromptFileRefused(f"prompt file {file!r} is not a regular file")
    if st.st_size > MAX_PROMPT_BYTES:
        raise PromptFileRefused(
            f"prompt file {file!r} is {st.st_size:,} bytes, over the {MAX_PROMPT_BYTES:,}-byte limit for a prompt"
        )
    return real


def read_prompt_file(file: str, base_dir: Path) -> str:
    """The text of prompt `file` (see the module doc); PromptFileRefused otherwise."""
    real = prompt_file_path(file, base_dir)
    try:
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        raise PromptFileRefused(f"prompt file {file!r}: cannot read: {err.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise PromptFileRefused(f"prompt file {file!r} is not a regular file")
        raw = f.read(MAX_PROMPT_BYTES + 1)
    if len(raw) > MAX_PROMPT_BYTES:
        raise PromptFileRefused(f"prompt file {file!r} is over the {MAX_PROMPT_BYTES:,}-byte limit for a prompt")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PromptFileRefused(f"prompt file {file!r}: not UTF-8 text (invalid byte at line {line})") from None
