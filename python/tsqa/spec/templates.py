"""Jinja templates of specs and prompts: compiled once, rendered in a sandbox.

The sandbox (ImmutableSandboxedEnvironment) refuses attribute access to internals and mutation of
values, so a template can read a seed document but can never run code or reach the interpreter.
Undefined variables raise (StrictUndefined), as in lm-eval.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _regex_replace(value: str, pattern: str, replacement: str = "", count: int = 0) -> str:
    # lm-eval registers this filter; task templates use it.
    return re.sub(pattern, replacement, value, count=count)


def _make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["regex_replace"] = _regex_replace
    return env


ENV = _make_env()


class TemplateError(Exception):
    """A template that does not compile; `line` is 1-based within the template text."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@lru_cache(maxsize=8192)
def compile_template(text: str) -> jinja2.Template:
    try:
        return ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "invalid template", exc.lineno or 1) from None


@lru_cache(maxsize=8192)
def template_variables(text: str) -> frozenset[str]:
    """The top-level variables a template reads (loop and `set` variables excluded)."""
    try:
        return frozenset(meta.find_undeclared_variables(ENV.parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "invalid template", exc.lineno or 1) from None


# Names a template may use without them being data: Jinja's globals.
JINJA_GLOBALS = frozenset(ENV.globals)
