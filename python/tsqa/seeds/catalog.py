"""The lm-eval seed catalogue: every leaf task, typed, from a shipped snapshot or live.

`TaskManager()` takes seconds, and the linter checks hundreds of specs in well under that, so
tsqa ships `data/lm_eval_catalog.json`, built by `build_catalog()` from the installed lm-eval:
full records for the tasks that declare a training split, and, compactly, the name, family and
splits of every other leaf task, so "unknown task" and "task without a training split" differ.
Regenerate after an lm-eval upgrade with `python -m tsqa.seeds.catalog`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from tsqa.seeds.groups import family_group
from tsqa.seeds.language import guess_language
from tsqa.seeds.model import TaskInfo
from tsqa.seeds.sources import FILE_LOADERS, canonical_dataset

SNAPSHOT_PATH = Path(__file__).parent / "data" / "lm_eval_catalog.json"
SNAPSHOT_FORMAT = 1
# Fields kept for tasks without a training split: enough to say why they are refused.
_STUB_KEY = ("family", "dataset_path", "output_type", "validation_split", "test_split", "fewshot_split", "excluded")


class CatalogError(Exception):
    """The snapshot is missing, unreadable, or from an incompatible format."""


@dataclass(frozen=True, slots=True)
class CatalogCounts:
    tasks: int  # declare a training split
    usable: int
    excluded: int
    families: int
    usable_families: int
    usable_sources: int  # distinct training data (data_key) among usable tasks
    by_output_type: Mapping[str, int]
    leaf_tasks: int  # every leaf task lm-eval knows, with or without a training split

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_output_type.items(), key=lambda kv: -kv[1]))
        return (
            f"{self.tasks} tasks with a training split in {_n(self.families, 'family', 'families')} ({kinds}); "
            f"{self.usable} usable in {_n(self.usable_families, 'family', 'families')} "
            f"from {_n(self.usable_sources, 'distinct source', 'distinct sources')}, {self.excluded} excluded."
        )


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class Catalog:
    """Leaf tasks by name. Iteration, filters and counts cover tasks with a training split."""

    def __init__(
        self,
        tasks: Iterable[TaskInfo],
        others: Mapping[str, TaskInfo | _Stub] | None = None,
        *,
        lm_eval_version: str,
    ) -> None:
        self._tasks = {t.name: t for t in sorted(tasks, key=lambda t: t.name)}
        self._others: Mapping[str, TaskInfo | _Stub] = others or {}
        self.lm_eval_version = lm_eval_version
        by_key: defaultdict[str, list[str]] = defaultdict(list)
        for t in self._tasks.values():
            if t.data_key:
                by_key[t.data_key].append(t.name)
        self._by_key = by_key
        self._eval_by_dataset: dict[tuple[str, str | None], frozenset[str]] | None = None
        self._root: Catalog = self

    # -- lookup ------------------------------------------------------------------------------
    def get(self, name: str) -> TaskInfo | None:
        """Any leaf task by name (None when lm-eval has no such task)."""
        found = self._tasks.get(name) or self._others.get(name)
        return found.info(name) if isinstance(found, _Stub) else found

    def __contains__(self, name: object) -> bool:
        return name in self._tasks or name in self._others

    def __iter__(self) -> Iterator[TaskInfo]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def all_names(self) -> frozenset[str]:
        """Every leaf task name, with or without a training split."""
        return frozenset(self._tasks) | frozenset(self._others)

    def dataset_eval_splits(self, dataset_path: str, dataset_name: str | None) -> frozenset[str]:
        """Every split any leaf task evaluates on, for a hub dataset (re-uploads included).

        A hub split is eval data if *any* lm-eval task evaluates on it, so an `hf:` seed cannot
        read a split that lm-eval tests on under another task's name.
        """
        if self._root is not self:
            return self._root.dataset_eval_splits(dataset_path, dataset_name)
        if self._eval_by_dataset is None:
            index: defaultdict[tuple[str, str | None], set[str]] = defaultdict(set)
            for name in self.all_names:
                t = self.get(name)
                # File loaders ("json", "csv") name different files per task: no shared identity.
                if t is not None and t.dataset_path and t.dataset_path not in FILE_LOADERS:
                    index[(canonical_dataset(t.dataset_path), t.dataset_name)] |= t.eval_splits
            self._eval_by_dataset = {k: frozenset(v) for k, v in index.items()}
        return self._eval_by_dataset.get((canonical_dataset(dataset_path), dataset_name), frozenset())

    def dataset_evals(self) -> Iterator[tuple[str | None, str | None, frozenset[str]]]:
        """(dataset_path, dataset_name, eval splits) of every leaf task, without building records."""
        root = self._root
        for t in root._tasks.values():
            yield t.dataset_path, t.dataset_name, t.eval_splits
        for other in root._others.values():
            if isinstance(other, _Stub):
                yield other.shared.dataset_path, other.dataset_name, other.shared.eval_splits
            else:
                yield other.dataset_path, other.dataset_name, other.eval_splits

    def duplicates(self, name: str) -> tuple[str, ...]:
        """Other tasks (with a training split) that read the same training rows."""
        task = self._tasks.get(name)
        if task is None or task.data_key is None:
            return ()
        return tuple(n for n in self._by_key[task.data_key] if n != name)

    # -- selection ---------------------------------------------------------------------------
    def filter(
        self,
        *,
        family: str | None = None,
        output_type: str | None = None,
        lang: str | None = None,
        group: str | None = None,
        usable_only: bool = False,
    ) -> Catalog:
        """The tasks with a training split matching every given criterion."""
        kept = [
            t
            for t in self._tasks.values()
            if (family is None or t.family == family)
            and (output_type is None or t.output_type == output_type)
            and (lang is None or t.language == lang)
            and (group is None or family_group(t.family) == group)
            and (not usable_only or t.usable)
        ]
        sub = Catalog(kept, self._others, lm_eval_version=self.lm_eval_version)
        sub._by_key = self._by_key  # duplicates stay relative to the whole catalogue
        sub._root = self._root  # and so do eval splits: a filter must never hide an eval use
        return sub

    def counts(self) -> CatalogCounts:
        usable = [t for t in self if t.usable]
        return CatalogCounts(
            tasks=len(self),
            usable=len(usable),
            excluded=len(self) - len(usable),
            families=len({t.family for t in self}),
            usable_families=len({t.family for t in usable}),
            usable_sources=len({t.data_key for t in usable}),
            by_output_type=dict(Counter(t.output_type for t in self)),
            leaf_tasks=len(self._tasks) + len(self._others),
        )

    # -- snapshot ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The snapshot document: full records, plus grouped stubs for the other tasks."""
        groups: defaultdict[tuple[Any, ...], dict[str, str | None]] = defaultdict(dict)
        for name, other in self._others.items():
            t = other.info(name) if isinstance(other, _Stub) else other
            groups[tuple(getattr(t, k) for k in _STUB_KEY)][t.name] = t.dataset_name
        return {
            "format": SNAPSHOT_FORMAT,
            "lm_eval_version": self.lm_eval_version,
            "tasks": [t.to_json() for t in self._tasks.values()],
            "without_training_split": [
                {**dict(zip(_STUB_KEY, key, strict=False)), "tasks": dict(sorted(names.items()))}
                for key, names in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
            ],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Catalog:
        if doc.get("format") != SNAPSHOT_FORMAT:
            raise CatalogError(f"catalogue snapshot format {doc.get('format')!r}, expected {SNAPSHOT_FORMAT}")
        others: dict[str, TaskInfo | _Stub] = {}
        for group in doc["without_training_split"]:
            shared = _stub(**{k: group[k] for k in _STUB_KEY})
            for name, dataset_name in group["tasks"].items():
                others[name] = _Stub(shared, dataset_name)
        tasks = [TaskInfo.from_json(raw) for raw in doc["tasks"]]
        return cls(tasks, others, lm_eval_version=doc["lm_eval_version"])


def _stub(**fields: Any) -> TaskInfo:
    return TaskInfo(
        name="",
        dataset_name=None,
        training_split=None,
        language=None,
        columns=None,
        has_process_docs=False,
        letter_only_choices=False,
        multiple_input=False,
        function_fields=(),
        **fields,
    )


@dataclass(frozen=True, slots=True)
class _Stub:
    """A task without a training split, as stored: its group's shared fields plus its own.

    Materialised on lookup only, so loading ~12k of them stays cheap.
    """

    shared: TaskInfo
    dataset_name: str | None

    def info(self, name: str) -> TaskInfo:
        t = self.shared
        return replace(t, name=name, dataset_name=self.dataset_name, language=guess_language(name, t.family))


def build_catalog(task_manager: Any = None) -> Catalog:
    """The catalogue of the installed lm-eval, read from its YAML (several seconds)."""
    from tsqa.seeds.build import iter_task_infos

    if task_manager is None:
        from lm_eval.tasks import TaskManager

        task_manager = TaskManager()
    infos = list(iter_task_infos(task_manager))
    with_train = [t for t in infos if t.training_split]
    # Keep of the others exactly what the snapshot keeps, so live and shipped catalogues agree.
    others: dict[str, TaskInfo | _Stub] = {
        t.name: _Stub(_stub(**{k: getattr(t, k) for k in _STUB_KEY}), t.dataset_name)
        for t in infos
        if not t.training_split
    }
    return Catalog(with_train, others, lm_eval_version=dist_version("lm_eval"))


def dump_snapshot(catalog: Catalog) -> str:
    """Compact JSON, one record per line so regenerations diff readably."""
    doc = catalog.to_json()
    head = {k: v for k, v in doc.items() if k not in ("tasks", "without_training_split")}

    def rows(items: list[Any]) -> str:
        return "[\n" + ",\n".join(json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in items) + "\n]"

    parts = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in head.items()]
    parts += [f'"tasks":{rows(doc["tasks"])}', f'"without_training_split":{rows(doc["without_training_split"])}']
    return "{" + ",\n".join(parts) + "}\n"


def write_snapshot(path: Path = SNAPSHOT_PATH, catalog: Catalog | None = None) -> Catalog:
    catalog = catalog or build_catalog()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_snapshot(catalog), encoding="utf-8")
    tmp.replace(path)
    return catalog


def read_snapshot(path: Path) -> Catalog:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"catalogue snapshot not found: {path}") from None
    except (OSError, json.JSONDecodeError) as err:
        raise CatalogError(f"cannot read catalogue snapshot {path}: {err}") from None
    return Catalog.from_json(doc)


@cache
def load_catalog() -> Catalog:
    """The shipped snapshot, parsed once per process."""
    return read_snapshot(SNAPSHOT_PATH)


if __name__ == "__main__":
    built = write_snapshot()
    print(f"wrote {SNAPSHOT_PATH} (lm-eval {built.lm_eval_version}): {built.counts().summary()}")
