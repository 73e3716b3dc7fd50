"""How a stage names its prompt: a built-in by name, a template file, or inline text."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from tsqa.spec.models.common import SpecModel, Template


class PromptFile(SpecModel):
    file: Annotated[str, Field(min_length=1)]
    """Path to a Jinja template, relative to the spec file."""


class PromptInline(SpecModel):
    inline: Template
    """The Jinja template itself."""


def _prompt_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "prompt:name"
    if isinstance(value, dict):
        return "prompt:file" if "file" in value else "prompt:inline" if "inline" in value else None
    kinds: dict[type, str] = {PromptFile: "prompt:file", PromptInline: "prompt:inline"}
    return kinds.get(type(value))


PromptRef = Annotated[
    Annotated[Annotated[str, Field(min_length=1)], Tag("prompt:name")]
    | Annotated[PromptFile, Tag("prompt:file")]
    | Annotated[PromptInline, Tag("prompt:inline")],
    Discriminator(
        _prompt_kind,
        custom_error_type="prompt_ref",
        custom_error_message="expected a built-in prompt name, {file: path} or {inline: template}",
    ),
]
"""A built-in prompt name (see `tsqa.prompts`), `{file: path}` or `{inline: text}`."""
