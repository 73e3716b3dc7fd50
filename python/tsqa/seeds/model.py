"""The typed record of one lm-eval leaf task, as far as its YAML tells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

OutputType = Literal["multiple_choice", "generate_until", "loglikelihood", "loglikelihood_rolling"]
OUTPUT_TYPES: tuple[str, ...] = get_args(OutputType)

# The config fields whose value may be a `!function` reference.
FunctionField = Literal["process_docs", "doc_to_text", "doc_to_choice", "doc_to_target"]
FUNCTION_FIELDS: tuple[str, ...] = get_args(FunctionField)


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
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TaskInfo:
        cols = raw["columns"]
        return cls(
            **{
                **raw,
                "columns": None if cols is None else frozenset(cols),
                "function_fields": tuple(raw["function_fields"]),
            }
        )
