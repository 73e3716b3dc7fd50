"""Jinja templates of specs and prompts: compiled once, rendered in a bounded sandbox.

The sandbox (ImmutableSandboxedEnvironment) refuses attribute access to internals and mutation of
values, so a template can read a seed document but can never run code or reach the interpreter.
Undefined variables raise (StrictUndefined), as in lm-eval.

Every render is also bounded (RenderLimits): a deadline (1 s), a budget of loop iterations, and a cap
on the size of every value a template builds and of its output. The checks sit where a template
spends time or memory: each loop is wrapped in a counting iterator (an AST rewrite at parse time;
straight-line code between loops is bounded by the template's length), every call, filter, `~`
concatenation and intercepted operator (`*`, `**`, `%`, `+`) checks the clock and estimates its
result size *before* building it (`'x' * 10**9`, `center(10**9)`,
`9 ** 9 ** 9`, a join of a list that aliases one large string a million times), and output is
counted as it streams. Exceeding a bound raises RenderLimitError, which callers turn into a
per-record error. Templates cannot include, import or extend other templates, and loops cannot
be recursive; constant folding is off, so compiling never evaluates anything.
"""

from __future__ import annotations

import importlib
import math
import re
import time
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
import regex  # type: ignore[import-untyped]
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import Markup


@dataclass(frozen=True)
class RenderLimits:
    """Per-render bounds. A legitimate seed or prompt template renders in microseconds."""

    seconds: float = 1.0
    max_chars: int = 1_000_000
    """Output size, and the size of any one value the template builds."""
    max_iterations: int = 100_000
    """Loop iterations in one render, all loops together."""
    max_int_bits: int = 8_192
    """Integers a template computes (str() of a larger one would fail anyway)."""
    max_input_chars: int = 1_000_000
    """The values a render is given (a seed document, a prompt's variables), all together."""
    max_slow_input: int = 100_000
    """Input of a filter that is slow per character in Python (`wordwrap`, `urlize` …): a 10 MB
    value through `wordwrap` would take seconds in one call, which no deadline check can cut."""


LIMITS = RenderLimits()


class RenderLimitError(Exception):
    """A render went over a bound (time, size, iterations); the record fails, the others go on."""


class _Budget:
    __slots__ = ("built", "deadline", "iterations", "limits", "output", "ticks")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.thread_time() + limits.seconds
        self.iterations = 0
        self.output = 0
        self.built = 0
        self.ticks = 0

    def add_output(self, size: int) -> None:
        """Output written anywhere: the template's own, and what `{% set %}` blocks, `{% filter %}`
        blocks, macros and `caller()` capture (each joined into one string later, unseen)."""
        self.built += size
        if self.built > self.limits.max_chars:
            raise RenderLimitError(
                f"template wrote over {self.limits.max_chars:,} characters (captured blocks and macros included)"
            )

    def tick(self) -> None:
        # The clock is read every 16th check: each step between two is small (sizes are checked
        # before anything is built), and reading it on every attribute access halves throughput.
        self.ticks += 1
        if not self.ticks & 15 and time.thread_time() > self.deadline:
            raise RenderLimitError(f"template render took over {self.limits.seconds:g}s")

    def remaining(self) -> float:
        return max(self.deadline - time.thread_time(), 0.001)


_BUDGET: ContextVar[_Budget | None] = ContextVar("tsqa_render_budget", default=None)


@contextmanager
def render_budget(limits: RenderLimits = LIMITS) -> Iterator[_Budget]:
    """The budget of one render; nested renders (macros, prompts rendering fields) share it."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    budget = _Budget(limits)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _too_big(what: str, size: float) -> None:
    if size > LIMITS.max_chars:
        raise RenderLimitError(f"{what} would build {int(size):,} items, over the {LIMITS.max_chars:,} limit")


def _size(value: Any, limit: int = LIMITS.max_chars) -> int:
    """Roughly the length of str(value), walked with an early stop once over `limit`."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)  # the plain types first: each is what the isinstance chain below finds for it
        if kind is str:
            total += len(v)
        elif kind is dict:
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif kind is list or kind is tuple:
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif kind is int:
            total += max(1, int(v.bit_length() * 0.302) + 1)
        elif isinstance(v, str):
            total += len(v)
        elif isinstance(v, Mapping):
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            total += max(1, int(v.bit_length() * 0.302) + 1)
        else:
            total += 8
        if total > limit:
            return total
    return total


_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format string


def _check_format(fmt: Any) -> None:
    if isinstance(fmt, str) and (m := _WIDTH.search(fmt)) and int(m.group(0)) > LIMITS.max_chars:
        _too_big("format width", int(m.group(0)))


def _check_int_args(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for v in (*args, *kwargs.values()):
        if isinstance(v, int) and not isinstance(v, bool) and v > LIMITS.max_chars:
            _too_big(f"{name}({v})", v)


def _check_str_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Pre-checks of the str methods that can amplify: widths, replace, join, format."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    _check_int_args(f"str.{name}", args, kwargs)
    if name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name == "join" and args:
        _too_big("str.join", _size(args[0]) + len(owner) * _len(args[0]))
    elif name in ("format", "format_map"):
        _check_format(owner)
        _too_big("str.format", len(owner) + _size((args, dict(kwargs))))
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        _too_big("str.expandtabs", len(owner) + owner.count("\t") * (tab if isinstance(tab, int) else 8))


def _len(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


def _check_replace(value: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        hits = len(value) + 1 if old == "" else value.count(old)
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _too_big("replace", len(value) + hits * max(len(new) - len(old), 0))


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        if obj is range or getattr(obj, "__name__", "") == "safe_range":
            _check_int_args("range", args, kwargs)
        _check_str_method(obj, args, kwargs)
        try:
            result = super().call(context, obj, *args, **kwargs)
        except RecursionError:
            raise RenderLimitError("template recursion too deep") from None
        _check_result(result)
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            _check_multiply(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
            _too_big("% formatting", len(left) + _size(right))
        elif operator == "+" and isinstance(left, (str, list, tuple)):
            _too_big("+", _len(left) + _len(right))
        result = super().call_binop(context, operator, left, right)
        _check_result(result)
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # jinja2's own wrapper, with a formatter that sizes each field before formatting it.
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str) or isinstance(owner, Markup):
            return super().wrap_str_format(value)
        formatter = _BoundedFormatter(self)
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            _tick()
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                mapping: Any = args[0]
                args, kwargs = (), mapping
            _check_format(owner)
            _too_big("str.format", len(owner) + _size((args, kwargs)))
            return str(formatter.vformat(owner, args, kwargs))

        return bounded

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _bound_ast(super()._parse(source, name, filename))


class _BoundedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format(format_spec)
        return super().format_field(value, format_spec)


def _check_multiply(left: Any, right: Any) -> None:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and not isinstance(n, bool):
            _too_big("*", len(seq) * max(n, 0))
    if isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > LIMITS.max_int_bits:
            raise RenderLimitError(f"integer product of {bits:,} bits, over the {LIMITS.max_int_bits:,}-bit limit")


def _check_power(base: Any, exp: Any) -> None:
    if isinstance(base, int) and isinstance(exp, int) and abs(base) > 1 and exp > 0:
        bits = exp * math.log2(abs(base))
        if bits > LIMITS.max_int_bits:
            raise RenderLimitError(f"power of about {int(bits):,} bits, over the {LIMITS.max_int_bits:,}-bit limit")


def _check_result(value: Any) -> None:
    if isinstance(value, (str, list, tuple)) and len(value) > LIMITS.max_chars:
        _too_big("a value", len(value))


# -- filters: every one ticks the clock, pre-checks amplifying arguments, post-checks its result --
_STRINGIFY = frozenset({"string", "pprint", "tojson", "e", "escape", "forceescape", "urlencode", "xmlattr", "list"})


# Filters whose work per character (or item) is Python code rather than C: their input is capped
# at max_slow_input, since one call cannot be interrupted by the deadline.
SLOW_FILTERS = frozenset(
    {"wordwrap", "urlize", "striptags", "unique", "groupby", "sort", "dictsort", "truncate", "xmlattr", "title"}
    | {"wordcount", "pprint", "indent", "center", "filesizeformat", "slice", "batch", "map", "select", "reject"}
    | {"selectattr", "rejectattr", "sum", "min", "max", "regex_replace"}
)
NONDETERMINISTIC_FILTERS = frozenset({"random", "shuffle"})
NONDETERMINISTIC_GLOBALS = frozenset({"lipsum"})
"""Filters and globals whose result differs between renders: refused (a render must give the same
text every time, or the content check at fetch and the text at apply would differ)."""


def _wrap_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        values = [
            a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment))
        ]
        value: Any = values[0] if values else None
        rest: tuple[Any, ...] = tuple(values[1:])
        _check_int_args(name, rest, kwargs)
        if name in SLOW_FILTERS and (size := _size(value, LIMITS.max_slow_input)) > LIMITS.max_slow_input:
            raise RenderLimitError(
                f"filter {name!r} on a value of over {LIMITS.max_slow_input:,} characters ({size:,}+): too slow to bound"
            )
        if name in _STRINGIFY or name == "join":
            _too_big(name, _size(value) + (_size(rest[0]) * _len(value) if name == "join" and rest else 0))
        elif name == "replace" and len(rest) >= 2:
            _check_replace(value, rest[0], rest[1], rest[2] if len(rest) > 2 else kwargs.get("count", -1))
        elif name == "format":
            _check_format(value)
            _too_big(name, _size(value) + _size((rest, kwargs)))
        elif name == "indent":
            width = rest[0] if rest else kwargs.get("width", 4)
            w = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
            lines = value.count("\n") + 1 if isinstance(value, str) else 1
            _too_big(name, _len(value) + lines * w)
        elif name == "center":
            width = rest[0] if rest else kwargs.get("width", 80)
            _too_big(name, width if isinstance(width, int) else 0)
        result = fn(*args, **kwargs)
        _check_result(result)
        return result

    for attr in ("jinja_pass_arg", "__name__", "__doc__"):
        if hasattr(fn, attr):
            setattr(bounded, attr, getattr(fn, attr))
    return bounded


MAX_PATTERN_CHARS = 1_000
MAX_PATTERN_WEIGHT = 10_000
"""A `regex_replace` pattern: its length, and its size with counted repeats unrolled (`(a{1000}){1000}`
weighs a million). Compiling is one uninterruptible call that no deadline can cut: a nested
counted repeat takes tens of seconds and gigabytes there, so it is measured before compiling."""


def regex_problem(pattern: object) -> str | None:
    """Why `pattern` may not be compiled by `regex_replace` (None when it may). Parsed with Python's
    own `re` parser (lm-eval's `regex_replace` uses `re`), which does not unroll repeats."""
    sre_parse: Any = importlib.import_module("re._parser")  # private to `re` (no stubs); stable since 3.11
    sre_c: Any = importlib.import_module("re._constants")

    if not isinstance(pattern, str):
        return f"regex_replace pattern must be a string, not {type(pattern).__name__}"
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"regex_replace pattern is over {MAX_PATTERN_CHARS:,} characters"
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as err:
        return f"regex_replace pattern {pattern!r} is invalid: {err}"
    repeats = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT)

    def weight(items: Any) -> int:
        total = 0
        for op, arg in items:
            if op in repeats:
                lo, hi, sub = arg
                times = hi if hi != sre_c.MAXREPEAT else lo
                total += max(times, 1) * weight(sub)
            elif op is sre_c.SUBPATTERN:
                total += weight(arg[3])
            elif op is sre_c.BRANCH:
                total += sum(weight(alt) for alt in arg[1])
            elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT, sre_c.ATOMIC_GROUP):
                total += weight(arg[1] if op is not sre_c.ATOMIC_GROUP else arg)
            elif op is sre_c.GROUPREF_EXISTS:
                total += weight(arg[1]) + (weight(arg[2]) if arg[2] else 0)
            else:
                total += 1
            if total > MAX_PATTERN_WEIGHT:
                break
        return total

    if weight(parsed) > MAX_PATTERN_WEIGHT:
        return f"regex_replace pattern {pattern[:80]!r} unrolls to over {MAX_PATTERN_WEIGHT:,} items (nested counted repeats)"
    return None


_GROUP_REF = re.compile(r"\\(?:\d+|g<[^>]*>)")


@lru_cache(maxsize=1024)
def _compiled_regex(pattern: str) -> Any:
    if (problem := regex_problem(pattern)) is not None:
        raise RenderLimitError(problem)
    return regex.compile(pattern)


def _regex_replace(value: str, pattern: str, replacement: str = "", count: int = 0) -> str:
    # lm-eval registers this filter; task templates use it. `regex` (not `re`) so a pattern that
    # backtracks catastrophically stops at the render's deadline instead of hanging.
    budget = _BUDGET.get()
    # `regex` checks its timeout coarsely (about 3x late): ask for a third of what is left.
    timeout = (budget.remaining() if budget is not None else LIMITS.seconds) / 3
    try:
        if not isinstance(pattern, str):
            raise RenderLimitError(str(regex_problem(pattern)))
        compiled = _compiled_regex(pattern)
        hits = sum(1 for _ in compiled.finditer(value, timeout=timeout))
        if count:
            hits = min(hits, count)
        # Each group reference repeats text of the matches, which together are at most the value.
        refs = len(_GROUP_REF.findall(replacement)) if isinstance(replacement, str) else 0
        _too_big("regex_replace", len(value) * (1 + refs) + hits * len(replacement) * 2)
        return str(compiled.sub(replacement, value, count=count, timeout=timeout))
    except TimeoutError:
        raise RenderLimitError(f"regex_replace({pattern!r}) took over the render's deadline") from None


def _concat(parts: list[Any]) -> str:
    """`a ~ b ~ c`, sized before it is built."""
    _tick()
    _too_big("~", sum(_size(p) for p in parts))
    return "".join(str(p) for p in parts)


class _Loop:
    """A loop's iterable, counted against the render's iteration budget."""

    @staticmethod
    def bounded(iterable: Any) -> Iterator[Any]:
        budget = _BUDGET.get()
        if isinstance(iterable, jinja2.Undefined):
            iter(iterable)  # StrictUndefined raises here, naming the variable
        for item in iterable:
            if budget is not None:
                budget.iterations += 1
                if budget.iterations > budget.limits.max_iterations:
                    raise RenderLimitError(f"template loops ran over {budget.limits.max_iterations:,} iterations")
                if budget.iterations % 64 == 0:
                    budget.tick()
            yield item


_LOOP_FILTER = "tsqa_bounded_loop"
_CONCAT_FILTER = "tsqa_bounded_concat"
_OUTPUT_FILTER = "tsqa_bounded_output"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


@jinja2.pass_context  # never evaluated at compile time: constants are counted too
def _count_output(context: Any, value: Any) -> Any:
    """Every piece of output (`{{ … }}` and literal text), wherever it is written: counted against
    the render's budget, and refused when it is not data (`{{ x.split }}`, `{{ x|map('upper') }}`
    print a memory address, which differs between runs)."""
    if type(value) is str:  # most output: literal text and text values
        if (budget := _BUDGET.get()) is not None:
            budget.add_output(len(value))
        return value
    size = len(value) if isinstance(value, str) else _size(value)
    if not isinstance(value, str):
        _too_big("output", size)
        if value is not None and not isinstance(value, (int, float, list, tuple, dict, jinja2.Undefined)):
            text = str(value)
            if _ADDRESS.search(text):
                raise RenderLimitError(
                    f"template outputs {type(value).__name__!r}, not data (its text differs between runs)"
                )
    budget = _BUDGET.get()
    if budget is not None:
        budget.add_output(size)
    return value


def _bound_ast(tree: nodes.Template) -> nodes.Template:
    """Refuse includes/imports/extends and recursive loops; wrap loops and `~` in bounded filters."""
    for kind, what in ((nodes.Include, "include"), (nodes.Import, "import"), (nodes.FromImport, "import")):
        for node in tree.find_all(kind):
            raise jinja2.TemplateSyntaxError(f"templates cannot {what} other templates", node.lineno)
    for node in tree.find_all(nodes.Extends):
        raise jinja2.TemplateSyntaxError("templates cannot extend other templates", node.lineno)
    for loop in list(tree.find_all(nodes.For)):
        if loop.recursive:
            raise jinja2.TemplateSyntaxError("recursive loops are not allowed", loop.lineno)
        loop.iter = nodes.Filter(loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
    for used in tree.find_all((nodes.Filter, nodes.Name)):
        name = str(getattr(used, "name", ""))
        if (isinstance(used, nodes.Filter) and name in NONDETERMINISTIC_FILTERS) or (
            isinstance(used, nodes.Name) and used.ctx == "load" and name in NONDETERMINISTIC_GLOBALS
        ):
            what = "filter" if isinstance(used, nodes.Filter) else "global"
            raise NondeterministicTemplate(
                f"{what} {name!r} is not deterministic: a render must give the same text every time",
                used.lineno,
            )
    for used in tree.find_all(nodes.Filter):  # a literal regex_replace pattern: refused at compile (lint)
        if used.name == "regex_replace":
            given = [*used.args[:1], *(k.value for k in used.kwargs if k.key == "pattern")]
            for arg in given:
                if isinstance(arg, nodes.Const) and (problem := regex_problem(arg.value)) is not None:
                    raise jinja2.TemplateSyntaxError(problem, used.lineno)
    for call in tree.find_all((nodes.Filter, nodes.Test)):  # `map('random')`: a filter named as text
        for arg in call.args:
            if isinstance(arg, nodes.Const) and arg.value in NONDETERMINISTIC_FILTERS:
                raise NondeterministicTemplate(
                    f"filter {arg.value!r} is not deterministic: a render must give the same text every time",
                    call.lineno,
                )
    # Output captured out of the stream's sight (joined later into one string) is counted as it is
    # written; output written to the stream is counted there (render_stream), at no extra cost.
    captured: dict[int, nodes.Output] = {}
    for block in tree.find_all((nodes.AssignBlock, nodes.FilterBlock, nodes.Macro, nodes.CallBlock)):
        for output in block.find_all(nodes.Output):
            captured[id(output)] = output
    for output in captured.values():
        output.nodes = [
            nodes.Filter(child, _OUTPUT_FILTER, [], [], None, None, lineno=child.lineno) for child in output.nodes
        ]
    for concat in list(tree.find_all(nodes.Concat)):
        parts = nodes.List(list(concat.nodes), lineno=concat.lineno)
        # Concat has no child slot for a Filter: replace its operands with one pre-joined string.
        concat.nodes = [nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=concat.lineno)]
    return tree


class NondeterministicTemplate(jinja2.TemplateSyntaxError):
    """A template that uses a nondeterministic filter or global (`|random`)."""


class BoundedTemplate(jinja2.Template):
    """`render` under a budget, its input sized first, output counted as it streams."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        values = dict(*args, **kwargs)
        check_input(values)
        ctx = self.new_context(values)
        try:
            out = render_stream(self.root_render_func(ctx))
        except Exception:
            self.environment.handle_exception()
            raise
        return check_output(out, values)


def check_output(out: str, values: Mapping[str, Any]) -> str:
    """`out`, unless it shows a memory address its input did not hold (an object printed, such
    as `{{ x|map('upper') ~ '' }}`): such text differs between runs."""
    if " at 0x" in out and (found := _ADDRESS.search(out)) and not _in_strings(values, found.group()):
        raise RenderLimitError(
            "template output holds a memory address (an object printed, not data): it differs between runs"
        )
    return out


def _in_strings(value: Any, needle: str) -> bool:
    """Whether a string inside `value` holds `needle` (the input's own text may show an address)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if needle in v:
                return True
        elif isinstance(v, Mapping):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return False


def check_input(values: Mapping[str, Any], limits: RenderLimits = LIMITS) -> None:
    """RenderLimitError when the values given to a render are over `max_input_chars` together
    (a 10 MB seed field); the record fails with that reason, the others go on."""
    size = _size(values, limits.max_input_chars)
    if size > limits.max_input_chars:
        biggest = max(values, key=lambda k: _size(values[k], limits.max_input_chars), default="?")
        raise RenderLimitError(
            f"template input is over {limits.max_input_chars:,} characters (largest value: {biggest!r})"
        )


def render_stream(chunks: Iterator[str], limits: RenderLimits = LIMITS) -> str:
    """Join a template's output chunks under the current (or a new) budget."""
    with render_budget(limits) as budget:
        out: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limits.max_chars:
                raise RenderLimitError(f"template output over {limits.max_chars:,} characters")
            out.append(chunk)
            budget.tick()
        return "".join(out)


def _finalize(value: Any) -> Any:
    # Every `{{ expression }}`: sized before str() turns an aliased structure into a huge string.
    if not isinstance(value, str):
        _too_big("output", _size(value))
    return value


def _make_env() -> _Sandbox:
    env = _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        optimized=False,
        finalize=_finalize,
    )
    env.template_class = BoundedTemplate
    env.globals.pop("lipsum", None)  # random text of any size: neither bounded nor deterministic
    env.filters.pop("random", None)  # nondeterministic (NONDETERMINISTIC)
    env.filters["regex_replace"] = _regex_replace
    env.filters = {name: _wrap_filter(name, fn) for name, fn in env.filters.items()}
    env.filters[_LOOP_FILTER] = _Loop.bounded
    env.filters[_CONCAT_FILTER] = _concat
    env.filters[_OUTPUT_FILTER] = _count_output
    return env


ENV = _make_env()


class TemplateError(Exception):
    """A template that does not compile; `line` is 1-based within the template text.
    `nondeterministic`: it uses `|random` or the like (lint rule template-nondeterministic)."""

    def __init__(self, message: str, line: int, *, nondeterministic: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.nondeterministic = nondeterministic


MAX_NESTING = 64
"""Deepest bracket nesting a template may have: Jinja's parser and Python's compiler recurse once
per level, and 5000 `(` would end in a RecursionError instead of a message."""


def _check_nesting(text: str) -> None:
    depth = 0
    line = 1
    for char in text:
        if char in "([":
            depth += 1
            if depth > MAX_NESTING:
                raise TemplateError(f"brackets nested more than {MAX_NESTING} levels deep", line)
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == "\n":
            line += 1


MAX_BLOCK_NESTING = 16
"""Deepest nesting of `{% for %}`, `{% if %}`, `{% macro %}` … blocks: Python refuses the code Jinja
generates past ~20 nested loops ("too many statically nested blocks") or ~100 levels of indentation,
as a SyntaxError lint would not see; a limit of ours says so at lint, naming the template's line."""
_BLOCKS = (nodes.For, nodes.If, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With, nodes.Block)


def _check_blocks(tree: nodes.Template) -> None:
    pending: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, _BLOCKS):
            depth += 1
            if depth > MAX_BLOCK_NESTING:
                raise TemplateError(f"blocks nested more than {MAX_BLOCK_NESTING} levels deep", node.lineno or 1)
        pending.extend((child, depth) for child in node.iter_child_nodes())


@lru_cache(maxsize=8192)
def _parsed(text: str) -> nodes.Template:
    """The bounded syntax tree of a template, parsed once for compiling and for its variables.
    Jinja's code generator turns literal text under a filter into a constant in the tree, as it
    would anyway: code compiled from a tree used before is the same (tests/spec/test_template_parse.py)."""
    tree = ENV.parse(text)
    _check_blocks(tree)
    return tree


@lru_cache(maxsize=8192)
def compile_template(text: str) -> jinja2.Template:
    _check_nesting(text)
    try:
        return ENV.from_string(_parsed(text))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            exc.message or "invalid template",
            exc.lineno or 1,
            nondeterministic=isinstance(exc, NondeterministicTemplate),
        ) from None
    except (RecursionError, MemoryError):  # a nesting the bracket count does not see (filters, tests)
        raise TemplateError("template nested too deeply to compile", 1) from None
    except SyntaxError as exc:  # Python refuses the generated code ("too many statically nested blocks")
        raise TemplateError(f"template nested too deeply to compile ({exc.msg})", 1) from None


@lru_cache(maxsize=8192)
def template_variables(text: str) -> frozenset[str]:
    """The top-level variables a template reads (loop and `set` variables excluded)."""
    _check_nesting(text)
    try:
        return frozenset(meta.find_undeclared_variables(_parsed(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            exc.message or "invalid template",
            exc.lineno or 1,
            nondeterministic=isinstance(exc, NondeterministicTemplate),
        ) from None
    except (RecursionError, MemoryError):
        raise TemplateError("template nested too deeply to compile", 1) from None


# Names a template may use without them being data: Jinja's globals.
JINJA_GLOBALS = frozenset(ENV.globals)


MISSING: Any = object()
"""`lookup` found no plain value: the caller renders with Jinja (which says what is wrong)."""


@lru_cache(maxsize=8192)
def plain_lookup(text: str) -> tuple[str, ...] | None:
    """`(name,)` or `(name, key)` when the template's whole output is `{{ name }}` or
    `{{ name.key }}` (as Jinja parses it, the bounding rewrite included), else None.

    Such a template's value is `lookup(values, path)` whenever that finds one: Jinja resolves the
    name in the values, and `name.key` on a dict without an attribute `key` is `name['key']`.
    """
    try:
        body = _parsed(text).body
    except Exception:  # noqa: BLE001 - not a template: compile_template says why
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    expr = body[0].nodes[0]
    if isinstance(expr, nodes.Name) and expr.ctx == "load":
        return (expr.name,)
    if (
        isinstance(expr, nodes.Getattr)
        and expr.ctx == "load"
        and isinstance(expr.node, nodes.Name)
        and expr.node.ctx == "load"
        and not hasattr({}, expr.attr)  # `d.items` is the method, not `d['items']`
    ):
        return (expr.node.name, expr.attr)
    return None


def lookup(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` (from `plain_lookup`) in a plain dict of values, else MISSING: an
    absent name or key, or anything but a dict on the way (Jinja's own lookup applies there)."""
    if type(values) is not dict or (value := values.get(path[0], MISSING)) is MISSING:
        return MISSING
    if len(path) == 2:
        return value.get(path[1], MISSING) if type(value) is dict else MISSING
    return value
