"""TaskManager entries → TaskInfo records. Reads YAML-derived configs only.

Never constructs a Task (that downloads every split) and never imports a `!function` module;
those modules are only parsed (pysource.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tsqa.seeds.language import guess_language
from tsqa.seeds.model import FUNCTION_FIELDS, FUNCTION_PREFIX, TaskInfo, TaskRules
from tsqa.seeds.pysource import returns_index
from tsqa.seeds.sources import MULTIMODAL_FIELDS, data_key, is_local_path
from tsqa.seeds.templates import is_function_ref, letter_only_choices, template_columns

_TEMPLATE_FIELDS = ("doc_to_text", "doc_to_choice", "doc_to_target")


def family_of(yaml_path: Path | None, tasks_root: Path) -> str:
    """lm-eval's task folder: `lm_eval/tasks/arc/arc_easy.yaml` → "arc"."""
    if yaml_path is None:
        return ""
    try:
        return yaml_path.relative_to(tasks_root).parts[0]
    except ValueError:  # a task from an include_path outside lm-eval
        return yaml_path.parent.name


def exclusion_reason(cfg: Mapping[str, Any], *, python_class: bool = False) -> str | None:
    """Why a task cannot seed generation, or None. First matching reason wins."""
    train = cfg.get("training_split")
    if python_class:
        return "defined by a Python class, not YAML: no declared training split"
    if not train:
        return "no training split"
    for kind in ("test", "validation"):
        if train == cfg.get(f"{kind}_split"):
            return f"training split {train!r} is also the {kind} split"
    kwargs = cfg.get("dataset_kwargs") or {}
    data_files = kwargs.get("data_files") if isinstance(kwargs, Mapping) else None
    if is_local_path(cfg.get("dataset_path"), data_files):
        return "data is on a local path of the task author"
    if cfg.get("custom_dataset") or not cfg.get("dataset_path"):
        return "custom dataset loader (a Python function)"
    if any(f in cfg for f in MULTIMODAL_FIELDS):
        return "multimodal (image or audio inputs)"
    return None


def _portable(value: Any, tasks_root: Path | None) -> Any:
    """A config value with `!function` paths made relative to lm_eval/tasks (see FUNCTION_PREFIX)."""
    if not is_function_ref(value):
        return value
    path = Path(value)
    if tasks_root is not None and path.is_relative_to(tasks_root):
        return FUNCTION_PREFIX + path.relative_to(tasks_root).as_posix()
    return FUNCTION_PREFIX + value  # a task outside lm-eval: keep the absolute path


def _json_safe(value: Any) -> Any:
    # dataset_kwargs may hold non-JSON values (rare); the snapshot keeps their text.
    return None if value is None else json.loads(json.dumps(value, default=str))


def task_rules(cfg: Mapping[str, Any], tasks_root: Path | None) -> TaskRules:
    delimiter = cfg.get("target_delimiter")
    return TaskRules(
        doc_to_text=_json_safe(_portable(cfg.get("doc_to_text"), tasks_root)),
        doc_to_choice=_json_safe(_portable(cfg.get("doc_to_choice"), tasks_root)),
        doc_to_target=_json_safe(_portable(cfg.get("doc_to_target"), tasks_root)),
        process_docs=_portable(cfg.get("process_docs"), tasks_root),
        target_delimiter=delimiter if isinstance(delimiter, str) else " ",
        dataset_kwargs=_json_safe(cfg.get("dataset_kwargs")),
    )


def task_info(
    name: str, cfg: Mapping[str, Any], family: str, *, python_class: bool = False, tasks_root: Path | None = None
) -> TaskInfo:
    """One record from a TaskManager config (includes merged, functions as path strings)."""
    output_type = cfg.get("output_type") or "generate_until"
    funcs = tuple(f for f in FUNCTION_FIELDS if is_function_ref(cfg.get(f)))
    columns: frozenset[str] | None = frozenset()
    for field in _TEMPLATE_FIELDS:
        cols = template_columns(cfg.get(field))
        columns = None if cols is None or columns is None else columns | cols
    doc_to_text = cfg.get("doc_to_text")
    multiple_input = (
        output_type == "multiple_choice"
        and isinstance(doc_to_text, str)
        and is_function_ref(doc_to_text)
        and returns_index(doc_to_text)
    )
    kwargs = cfg.get("dataset_kwargs")
    data_files = kwargs.get("data_files") if isinstance(kwargs, Mapping) else None
    return TaskInfo(
        name=name,
        family=family,
        dataset_path=cfg.get("dataset_path"),
        dataset_name=cfg.get("dataset_name"),
        training_split=cfg.get("training_split"),
        validation_split=cfg.get("validation_split"),
        test_split=cfg.get("test_split"),
        fewshot_split=cfg.get("fewshot_split"),
        output_type=output_type,
        language=guess_language(name, family),
        columns=columns,
        has_process_docs=cfg.get("process_docs") is not None,
        letter_only_choices=letter_only_choices(cfg.get("doc_to_choice")),
        multiple_input=multiple_input,
        function_fields=funcs,
        excluded=exclusion_reason(cfg, python_class=python_class),
        data_key=data_key(cfg.get("dataset_path"), cfg.get("dataset_name"), cfg.get("training_split"), data_files),
        rules=task_rules(cfg, tasks_root) if cfg.get("training_split") else None,
    )


def iter_task_infos(task_manager: Any) -> Iterator[TaskInfo]:
    """Every leaf task of a `lm_eval.tasks.TaskManager`, in name order."""
    import lm_eval.tasks
    from lm_eval.tasks import (
        _index,  # the Entry kinds; private but stable across 0.4.12+
    )

    tasks_root = Path(lm_eval.tasks.__file__).parent
    for name in task_manager.all_subtasks:
        entry = task_manager.task_index[name]
        yield task_info(
            name,
            entry.cfg or {},
            family_of(entry.yaml_path, tasks_root),
            python_class=entry.kind is _index.Kind.PY_TASK,
            tasks_root=tasks_root,
        )
