"""The typed record of one lm-eval leaf task, as far as its YAML tells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

OutputType = Literal["multiple_choice", "generate_until", "loglikelihood", "loglikelihood_rolling"]
OUTPUT_TYPES: tuple[str, ...] = get_args(OutputType)

# The config fields whose value may be a `!function` reference.
FunctionField = Literal["process_docs", "doc_to_text", "doc_to_choice", "doc_to_target"]
FUNCTION_FIELDS: tuple[str, ...] = get_args(FunctionField)


# A `!function` reference as stored: "!function <module path relative to lm_eval/tasks>.<name>",
# so the snapshot does not depend on where lm-eval was installed when it was built.
FUNCTION_PREFIX = "!function "


@dataclass(frozen=True, slots=True)
class TaskRules:
    """The task config values normalisation replays (lm_eval/api/task.py resolves them).

    `doc_to_*` keep their YAML value: a column name or Jinja string, an int, a list/dict literal,
    or a `!function` reference (FUNCTION_PREFIX). `dataset_kwargs` is kept for hub loading
    (data_files, revision).
    """

    doc_to_text: Any = None
    doc_to_choice: Any = None
    doc_to_target: Any = None
    process_docs: str | None = None
    target_delimiter: str = " "
    dataset_kwargs: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_to_text": self.doc_to_text,
            "doc_to_choice": self.doc_to_choice,
            "doc_to_target": self.doc_to_target,
            "process_docs": self.process_docs,
            "target_delimiter": self.target_delimiter,
            "dataset_kwargs": self.dataset_kwargs,
        }


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """What tsqa needs to know about one lm-eval task before seeding from it.

    `columns` are the names the task's own templates read (plain column names and Jinja
    variables of `doc_to_text`/`doc_to_choice`/`doc_to_target`); when `has_process_docs` is set
    they name fields of the *processed* docs. None when a template is a Python function.
    `excluded` is the reason the task cannot be a seed, or None when it can.
    """

    name: str
    family: str
    dataset_path: str | None
    dataset_name: str | None
    training_split: str | None
    validation_split: str | None
    test_split: str | None
    fewshot_split: str | None
    output_type: str
    language: str | None
    columns: frozenset[str] | None
    has_process_docs: bool
    letter_only_choices: bool
    multiple_input: bool
    function_fields: tuple[str, ...]
    excluded: str | None
    # Identity of the seed rows, shared by tasks that read the same data (see sources.py).
    data_key: str | None = None
    # The field rules (tasks with a training split only); not hashed: values may be lists.
    rules: TaskRules | None = field(default=None, hash=False)

    @property
    def eval_splits(self) -> frozenset[str]:
        """The splits lm-eval may evaluate on: never usable as seed data."""
        return frozenset(s for s in (self.validation_split, self.test_split) if s)

    @property
    def usable(self) -> bool:
        return self.excluded is None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "family": self.family,
            "dataset_path": self.dataset_path,
            "dataset_name": self.dataset_name,
            "training_split": self.training_split,
            "validation_split": self.validation_split,
            "test_split": self.test_split,
            "fewshot_split": self.fewshot_split,
            "output_type": self.output_type,
            "language": self.language,
            "columns": None if self.columns is None else sorted(self.columns),
            "has_process_docs": self.has_process_docs,
            "letter_only_choices": self.letter_only_choices,
            "multiple_input": self.multiple_input,
            "function_fields": list(self.function_fields),
            "excluded": self.excluded,
            "data_key": self.data_key,
            **({"rules": self.rules.to_json()} if self.rules is not None else {}),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TaskInfo:
        cols = raw["columns"]
        rules = raw.get("rules")
        return cls(
            **{
                **raw,
                "columns": None if cols is None else frozenset(cols),
                "function_fields": tuple(raw["function_fields"]),
                "rules": None if rules is None else TaskRules(**rules),
            }
        )
