"""One task spec, as YAML text, from an lm-eval task's config (used by `tsqa init`).

The format follows the output type; the field mapping is lm-eval's own rules written out as
tsqa templates (a column name becomes `{{ column }}`, a literal list a Jinja list), so the
spec says in the open what normalisation will do. Fields that lm-eval computes with a Python
function are left out (normalisation then calls that function) and named in a comment.
"""

from __future__ import annotations

import json
from typing import Any

from tsqa.seeds.functions import is_function
from tsqa.seeds.groups import family_group
from tsqa.seeds.model import FUNCTION_PREFIX, TaskInfo
from tsqa.spec.models.task import Format

FORMAT_BY_OUTPUT_TYPE: dict[str, Format] = {
    "multiple_choice": "multiple_choice",
    "generate_until": "short_answer",
    "loglikelihood": "short_answer",
    "loglikelihood_rolling": "free_form",  # running text (wikitext, c4): nothing to vote on
}
_FIELDS = (("question", "doc_to_text"), ("choices", "doc_to_choice"), ("answer", "doc_to_target"))


def spec_format(info: TaskInfo) -> Format:
    return FORMAT_BY_OUTPUT_TYPE.get(info.output_type, "short_answer")


def as_template(value: Any, columns: frozenset[str] | None) -> str | None:
    """An lm-eval `doc_to_*` value as an equivalent tsqa template; None for functions/absent.

    >>> as_template("answerKey", frozenset({"answerKey"}))
    '{{ answerKey }}'
    >>> as_template(["no", "yes"], None)
    "{{ ['no', 'yes'] }}"
    >>> as_template(3, None)
    '3'
    """
    if value is None or isinstance(value, bool) or is_function(value):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        plain = all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)
        return "{{ " + (repr(value) if plain else json.dumps(value, ensure_ascii=False)) + " }}"
    if isinstance(value, str):
        is_column = value.isidentifier() and (columns is None or value in columns)
        return "{{ " + value + " }}" if is_column else value
    return None


def scaffold_spec(info: TaskInfo) -> str:
    """The YAML text of a spec that seeds from `info` (passes `tsqa lint`; no licence set)."""
    fmt = spec_format(info)
    dataset = (info.dataset_path or "?") + (f", {info.dataset_name}" if info.dataset_name else "")
    lines = [
        f"# Scaffolded by `tsqa init` from the lm-eval task {info.name} ({dataset}).",
        f"task: {info.name}",
    ]
    if (group := family_group(info.family)) is not None:
        lines.append(f"group: {group}")
    lines += [
        "seed:",
        f"  lm_eval: {info.name}",
        "  # license:   lm-eval records no licence; copy the SPDX id from the dataset card"
        + (f" (https://huggingface.co/datasets/{info.dataset_path})" if info.dataset_path else ""),
        f"format: {fmt}",
    ]
    fields, notes = [], []
    rules = info.rules
    for name, key in _FIELDS:
        value = getattr(rules, key) if rules is not None else None
        if name == "choices" and fmt != "multiple_choice":
            continue
        template = as_template(value, info.columns)
        if name == "question" and info.output_type == "loglikelihood_rolling":
            continue  # the document is the text (normalise puts it in `question`)
        if template is not None and template.strip():
            fields.append(f"  {name}: {json.dumps(template, ensure_ascii=False)}")
        elif isinstance(value, str) and is_function(value):
            notes.append(f"  # {name}: lm-eval function {value.removeprefix(FUNCTION_PREFIX)}")
    if fields or notes:
        process = " (over the documents after lm-eval's process_docs)" if info.has_process_docs else ""
        lines.append(f"fields:   # lm-eval's own rules{process}; edit to change what becomes a seed")
        lines += fields + notes
        if not fields:
            lines[-len(notes) - 1] = "# fields: lm-eval computes them with functions:"
            lines[-len(notes) :] = [n.replace("  # ", "#   ", 1) for n in notes]
    if fmt == "free_form":
        lines.append("verify: {kind: none}   # running text has no answer to vote on")
    return "\n".join(lines) + "\n"
