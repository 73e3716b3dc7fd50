"""lm-eval `!function` references of the installed lm-eval's own tasks, imported lazily and defensively.

Only the catalogue holds such references (a spec never does: lint refuses `!function`-like strings
and `rules.compile_rule` refuses them from a spec's `fields`). Even so, a reference resolves only
to a module file of the installed lm-eval's task folder: an absolute path, `..`, a symlink out of
it, or anything but an existing `.py` file below it is refused before anything is imported.

Importing a task's helper module can need evaluation-only dependencies, reach the hub, or even
call `sys.exit`; a failure becomes a FunctionImportError naming the task and function instead of
taking the process down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from tsqa.seeds.errors import SeedError
from tsqa.seeds.model import FUNCTION_PREFIX


class FunctionImportError(SeedError):
    """A task's `!function` could not be imported, or names code outside lm-eval's task modules."""


def is_function(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FUNCTION_PREFIX)


# What would make tsqa, lm-eval, YAML loaders or Jinja import or run code, written as text:
# lm-eval's `!function` (any case or spacing), Python YAML tags, and the dunder names of sandbox
# escapes. Matched on the folded text (names.fold), so look-alike letters do not hide it.
_CODE = re.compile(
    r"!\s*function|!!?\s*python\s*/|tag:yaml\.org,2002:python|__(?:import|builtins|subclasses|globals|"
    r"class|mro|bases|code|closure|dict|getattribute|reduce|reduce_ex|init|loader|spec)__",
    re.IGNORECASE,
)


def code_reference(value: str) -> str | None:
    """The part of `value` that names code to import or run, or None.

    >>> code_reference("  !Function ../../evil.fn"), code_reference("{{ question }}")
    ('!Function', None)
    """
    if value.isascii():  # the common case: nothing to fold
        found = _CODE.search(value)
    else:
        from tsqa.seeds.names import fold

        found = _CODE.search(fold(value))
    return found.group(0) if found else None


def tasks_root() -> Path:
    import lm_eval.tasks

    return Path(os.path.realpath(Path(lm_eval.tasks.__file__).parent))


def function_path(ref: str) -> str:
    """ "!function hellaswag/utils.process_docs" → "<lm_eval>/tasks/hellaswag/utils.process_docs".

    Raises FunctionImportError unless the module is a `.py` file inside lm-eval's task folder.
    """
    rel = ref.removeprefix(FUNCTION_PREFIX).strip()
    module, dot, name = rel.rpartition(".")
    pure = PurePosixPath(module)
    if (
        not dot
        or not name.isidentifier()
        or not module
        or pure.is_absolute()
        or os.path.isabs(module)
        or "\\" in module
        or any(p in ("..", ".", "") for p in module.split("/"))
    ):
        raise FunctionImportError(
            f"lm-eval function {rel!r} refused: only modules of the installed lm-eval's task folder are imported"
        )
    root = tasks_root()
    file = Path(os.path.realpath(root / (module + ".py")))
    if not file.is_relative_to(root) or not file.is_file():
        raise FunctionImportError(f"lm-eval function {rel!r} refused: {module}.py is not a module of lm-eval's tasks")
    return str(file.with_suffix("")) + "." + name


@cache
def import_function(ref: str) -> Callable[..., Any]:
    path = function_path(ref)
    try:
        from lm_eval.tasks._yaml_loader import (
            _import_fun_from_str,  # private: the importer lm-eval uses
        )

        fn = _import_fun_from_str(path)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001 - SystemExit from a module counts too
        raise FunctionImportError(
            f"cannot import lm-eval function {ref.removeprefix(FUNCTION_PREFIX)}: {type(err).__name__}: {err}"
        ) from None
    if not callable(fn):
        raise FunctionImportError(f"lm-eval function {ref.removeprefix(FUNCTION_PREFIX)} is not callable")
    return fn  # type: ignore[no-any-return]
