"""lm-eval `!function` references, imported lazily and defensively.

Importing a task's helper module can need evaluation-only dependencies, reach the hub, or even
call `sys.exit`; a failure becomes a FunctionImportError naming the task and function instead of
taking the process down.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tsqa.seeds.errors import SeedError
from tsqa.seeds.model import FUNCTION_PREFIX


class FunctionImportError(SeedError):
    """A task's `!function` could not be imported."""


def is_function(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FUNCTION_PREFIX)


def function_path(ref: str) -> str:
    """ "!function hellaswag/utils.process_docs" → "<lm_eval>/tasks/hellaswag/utils.process_docs"."""
    rel = ref.removeprefix(FUNCTION_PREFIX)
    if Path(rel).is_absolute():
        return rel
    import lm_eval.tasks

    return str(Path(lm_eval.tasks.__file__).parent / rel)


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
