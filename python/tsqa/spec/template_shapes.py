"""Render a template once per *shape* of its values, not once per record (same text, same bounds).

Model stages render one prompt per request: a task's requests share the instructions, the worked
example and every option loop's structure, and differ in a few strings the template only prints
(the question, the option texts, the answer). `ShapeRenderer` finds those strings in the template's
syntax tree, renders the template through the bounded sandbox once per shape with each such string
replaced by a sentinel, and then builds each prompt by putting the record's strings where the
sentinels came out. The text is the plain render's, byte for byte, because:

* A *hole* is a value the template provably only prints (`{{ x }}`, in a top-level or macro body),
  tests for truth (`{% if x %}`), or iterates with a loop whose item is printed likewise
  (`{% for o in x %}{{ loop.index0 }}{{ o }}{% endfor %}`, `x | length`), through calls of the
  template's own macros whose output is itself printed. A sentinel behaves the same under those
  operations: it is a non-empty `str` (empty strings are no holes), and a list hole keeps the list's
  length and type. Anything else a template does with a value (a filter, an attribute, a
  comparison, `~`) makes that value part of the shape, compared in full; so do values that are not
  plain `str`. A template with blocks, `{% set %}` blocks, filter or call blocks, nested macros or
  macro calls whose output is not printed gets no holes at all (every render is a plain one).
* The bounds hold: every size the sandbox checks (input, output, built values) is a sum of string
  lengths, and a sentinel is at least as long as every value it stands for (lengths in powers of
  two), so a render of the shape that stays within the bounds proves the record's render does;
  loops run the same iterations (list lengths are part of the shape). The deadline applies to the
  shape's render; filling holes is linear in the output. The input bound and the printed-address
  check (`check_input`, `check_output`) run on every record's own values and text, as in
  `BoundedTemplate.render`. A shape whose render fails (a bound, an undefined variable) is not
  kept: that record, and the next of its shape, are rendered plainly and fail or not as they would.
* Sentinels carry a random per-process nonce, so no template text or data can forge one (and the
  parse of a shape's output is checked; anything unexpected means a plain render).

`tests/spec/test_template_shapes.py` compares it with the plain render on the built-in prompts and
on random templates and records.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import nodes

from tsqa.spec.templates import (
    _LOOP_FILTER,
    _OUTPUT_FILTER,
    LIMITS,
    _parsed,
    _size,
    check_input,
    check_output,
    compile_template,
)

_NONCE = "\x00" + secrets.token_hex(8)
_MIN_HOLE = 32  # a sentinel: nonce (17) + index (4) + end mark (1), padded to a power of two
_MAX_SHAPES = 1024
"""Shapes kept per template (the oldest is dropped): a task has a few dozen."""
_GIVE_UP_AFTER = 512
"""Renders after which a template whose shapes rarely repeat is rendered plainly (no key building)."""
_LOOP_ATTRS = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"})
_UNSUPPORTED = (
    nodes.Block,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.AssignBlock,
    nodes.With,
    nodes.Scope,
    nodes.OverlayScope,
    nodes.EvalContextModifier,
    nodes.ScopedEvalContextModifier,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
)


class _Use:
    """How a template uses one variable (a top-level value, a macro parameter, a loop item)."""

    __slots__ = ("elem", "ok", "printed")

    def __init__(self) -> None:
        self.ok = True  # only printed, tested for truth, measured (lists) or iterated
        self.printed = False
        self.elem: _Use | None = None  # the item's use, when iterated or measured (a list)

    def merge(self, other: _Use) -> None:
        self.ok = self.ok and other.ok
        self.printed = self.printed or other.printed
        if other.elem is not None:
            self.item().merge(other.elem)

    def item(self) -> _Use:
        if self.elem is None:
            self.elem = _Use()
        return self.elem


class _Loop:
    """`loop` inside a for over a tracked value: only its position attributes keep it a hole."""

    __slots__ = ("owner",)

    def __init__(self, owner: _Use) -> None:
        self.owner = owner


class _Unsupported(Exception):
    pass


class _Analysis:
    def __init__(self, tree: nodes.Template) -> None:
        for node in tree.find_all(_UNSUPPORTED):
            raise _Unsupported(type(node).__name__)
        self.macros = {m.name: m for m in tree.body if isinstance(m, nodes.Macro)}
        if sum(1 for _ in tree.find_all(nodes.Macro)) != len(self.macros) or len(self.macros) != sum(
            isinstance(m, nodes.Macro) for m in tree.body
        ):
            raise _Unsupported("nested or repeated macros")
        # A name assigned anywhere may mean another value in places: never a hole.
        self.assigned: set[str] = {
            n.name  # type: ignore[attr-defined]  # Name and NSRef both have one
            for a in tree.find_all(nodes.Assign)
            for n in a.target.find_all((nodes.Name, nodes.NSRef))
        }
        self.inputs: dict[str, _Use] = {}
        self.params: dict[str, list[_Use]] = {}
        self.analysing: set[str] = set()
        for name in self.macros:
            self._macro(name)
        self._body(tree.body, {})

    def _macro(self, name: str) -> list[_Use]:
        if name in self.params:
            return self.params[name]
        if name in self.analysing:
            raise _Unsupported("recursive macro")
        self.analysing.add(name)
        macro = self.macros[name]
        params = [_Use() for _ in macro.args]
        scope: dict[str, _Use | _Loop | None] = {"caller": None, "varargs": None, "kwargs": None}
        scope.update({arg.name: use for arg, use in zip(macro.args, params, strict=True)})
        for default in macro.defaults:
            self._any(default, scope)
        self._body(macro.body, scope)
        self.analysing.discard(name)
        self.params[name] = params
        return params

    def _lookup(self, name: str, scope: Mapping[str, _Use | _Loop | None]) -> _Use | _Loop | None:
        if name in scope:
            return scope[name]
        if name in self.macros:
            return None
        use = self.inputs.setdefault(name, _Use())
        if name in self.assigned:
            use.ok = False
        return use

    def _body(self, body: list[nodes.Node], scope: dict[str, _Use | _Loop | None]) -> None:
        for node in body:
            self._stmt(node, scope)

    def _stmt(self, node: nodes.Node, scope: dict[str, _Use | _Loop | None]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                self._printed(child, scope)
        elif isinstance(node, nodes.If):
            self._test(node.test, scope)
            self._body(node.body, scope)
            for branch in node.elif_:
                self._stmt(branch, scope)
            self._body(node.else_, scope)
        elif isinstance(node, nodes.For):
            self._for(node, scope)
        elif isinstance(node, nodes.Macro):
            return  # analysed once, on its own
        else:  # Assign and the like: every tracked name inside is used as a value
            for part in node.iter_child_nodes():
                self._any(part, scope)

    def _for(self, node: nodes.For, scope: dict[str, _Use | _Loop | None]) -> None:
        inner: dict[str, _Use | _Loop | None] = dict(scope)
        iterable: nodes.Node | None = node.iter
        if isinstance(iterable, nodes.Filter) and iterable.name == _LOOP_FILTER:
            iterable = iterable.node
        tracked = self._lookup(iterable.name, scope) if isinstance(iterable, nodes.Name) else None
        if (
            isinstance(tracked, _Use)
            and isinstance(node.target, nodes.Name)
            and node.test is None
            and not node.recursive
        ):
            inner[node.target.name] = tracked.item()
            inner["loop"] = _Loop(tracked)
        else:
            self._any(node.iter, scope)
            for target in node.target.find_all(nodes.Name):
                inner[target.name] = None
            inner["loop"] = None
            if node.test is not None:
                self._any(node.test, inner)
        self._body(node.body, inner)
        self._body(node.else_, scope)

    def _printed(self, expr: nodes.Node, scope: dict[str, _Use | _Loop | None]) -> None:
        if isinstance(expr, nodes.Filter) and expr.name == _OUTPUT_FILTER and expr.node is not None:
            expr = expr.node
        if isinstance(expr, nodes.Name):
            tracked = self._lookup(expr.name, scope)
            if isinstance(tracked, _Use):
                tracked.printed = True  # a str hole may stay one, a list may not
            elif isinstance(tracked, _Loop):
                tracked.owner.ok = False
        elif isinstance(expr, nodes.Call) and self._macro_call(expr, scope):
            return
        else:
            self._any(expr, scope)

    def _macro_call(self, call: nodes.Call, scope: dict[str, _Use | _Loop | None]) -> bool:
        """A call of one of the template's macros, its output printed: each tracked argument is
        used as the macro uses its parameter."""
        if not (isinstance(call.node, nodes.Name) and call.node.name in self.macros and call.node.name not in scope):
            return False
        if call.kwargs or call.dyn_args or call.dyn_kwargs:
            raise _Unsupported("macro call with keyword arguments")
        params = self._macro(call.node.name)
        if len(call.args) > len(params):
            raise _Unsupported("macro call with extra arguments")
        for arg, param in zip(call.args, params, strict=False):
            tracked = self._lookup(arg.name, scope) if isinstance(arg, nodes.Name) else None
            if isinstance(tracked, _Use):
                tracked.merge(param)
            else:
                self._any(arg, scope)
        return True

    def _test(self, expr: nodes.Node, scope: dict[str, _Use | _Loop | None]) -> None:
        if isinstance(expr, nodes.Not):
            expr = expr.node
        if isinstance(expr, nodes.Name):
            self._lookup(expr.name, scope)  # truth: a sentinel is truthy, as a non-empty value is
        else:
            self._any(expr, scope)

    def _any(self, expr: nodes.Node, scope: dict[str, _Use | _Loop | None]) -> None:
        """An expression whose value depends on what its names hold: none of them is a hole, except
        `x | length` of a list and `loop`'s position attributes."""
        if isinstance(expr, nodes.Name):
            if expr.name in self.macros and expr.name not in scope:
                # a macro as a value (`{% set ask = q %}`, `[q][0]()`, passed on): its output may
                # be filtered or measured where the walk cannot see it
                raise _Unsupported("a macro used as a value")
            tracked = self._lookup(expr.name, scope)
            if isinstance(tracked, _Use):
                tracked.ok = False
            elif isinstance(tracked, _Loop):
                tracked.owner.ok = False
            return
        if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name) and expr.node.name == "loop":
            tracked = self._lookup("loop", scope)
            if isinstance(tracked, _Loop):
                if expr.attr not in _LOOP_ATTRS:
                    tracked.owner.ok = False
            elif isinstance(tracked, _Use):  # a value named `loop` (a macro parameter, an input)
                tracked.ok = False
            return
        if (
            isinstance(expr, nodes.Filter)
            and expr.name == "length"
            and isinstance(expr.node, nodes.Name)
            and not (expr.args or expr.kwargs or expr.dyn_args or expr.dyn_kwargs)
        ):
            tracked = self._lookup(expr.node.name, scope)
            if isinstance(tracked, _Use):
                tracked.item()  # measured: a list hole (its length is in the shape), never a str one
            elif isinstance(tracked, _Loop):
                tracked.owner.ok = False
            return
        if isinstance(expr, nodes.Call) and isinstance(expr.node, nodes.Name) and expr.node.name in self.macros:
            raise _Unsupported("a macro's output used as a value")
        for child in expr.iter_child_nodes():
            self._any(child, scope)


@dataclass
class Shape:
    """A shape's render: literals[0], the value of hole indices[0], literals[1], … (one literal
    more than holes)."""

    literals: tuple[str, ...]
    indices: tuple[int, ...]
    text: str
    """The render with sentinels in the holes."""
    sentinels: tuple[int, ...]
    """The length of each hole's sentinel, by hole number."""
    memo: dict[str, Any] = field(default_factory=dict)
    """What callers derive from the shape once (prompt turns)."""


@dataclass
class _Plan:
    modes: tuple[tuple[str, str], ...]
    """The template's variables, in a fixed order, with the values each can take as holes."""
    shapes: dict[tuple[Any, ...], Shape] = field(default_factory=dict)
    """Shape → its output split at its holes."""
    renders: int = 0
    hits: int = 0


@lru_cache(maxsize=256)
def _plan(text: str) -> _Plan | None:
    from jinja2 import meta

    try:
        tree = _parsed(text)
        analysis = _Analysis(tree)
        names = tuple(sorted(meta.find_undeclared_variables(tree)))
    except _Unsupported:
        return None
    except Exception:  # noqa: BLE001 - not a template: the plain render says why
        return None
    # a variable the walk did not meet is never a hole
    return _Plan(tuple((n, _mode(analysis.inputs[n]) if n in analysis.inputs else _FULL) for n in names))


_ABSENT: Any = ("absent",)
_STR, _LIST, _FULL = "str", "list", "full"


def _mode(use: _Use) -> str:
    """Which values of a variable can be holes: non-empty strings (`_STR`), lists of strings
    (`_LIST`, their items holes), or none (`_FULL`: the value is part of the shape)."""
    if not use.ok:
        return _FULL
    if use.elem is None:
        return _STR
    if not use.printed and use.elem.ok and use.elem.elem is None:
        return _LIST
    return _FULL


def _bucket(size: int) -> int:
    return max(_MIN_HOLE, 1 << (size - 1).bit_length())


def _freeze(value: Any) -> Any:
    """A hashable stand-in equal only for values that render alike (types kept: 1, 1.0 and True
    differ; a float by its repr, so -0.0 and 0.0 differ). None for a value that is not plain data."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is bool or value is None:
        return (kind.__name__, value)
    if kind is float:
        return ("float", repr(value))
    if kind is list or kind is tuple:
        items = tuple(_freeze(v) for v in value)
        return None if None in items else (kind.__name__, items)
    if kind is dict:
        pairs = tuple((k, _freeze(v)) for k, v in value.items())
        return None if any(type(k) is not str or v is None for k, v in pairs) else ("dict", pairs)
    return None


class ShapeRenderer:
    """`render(text, values)` = `compile_template(text).render(**values)`, memoized by shape.

    Shapes are kept per template text, for every renderer. A renderer also remembers, by identity,
    the dicts and lists it was given (their size and frozen form): a request builder passes the
    same worked example to many renders. So values must not change while a renderer lives: make
    one per batch of renders."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, Any, int]] = {}  # id → (the value, held; frozen; size)

    def _frozen(self, value: Any) -> tuple[Any, int]:
        """(`_freeze(value)`, `_size(value)`), remembered for dicts and lists."""
        if type(value) is not dict and type(value) is not list:
            return _freeze(value), _size(value, LIMITS.max_input_chars)
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1], known[2]
        if len(self._known) >= 1024:
            self._known.clear()
        frozen, size = _freeze(value), _size(value, LIMITS.max_input_chars)
        self._known[id(value)] = (value, frozen, size)  # held: its id cannot be reused meanwhile
        return frozen, size

    def _input_size(self, values: dict[str, Any]) -> int:
        """`templates._size(values)` (what `check_input` compares with its bound), the common
        values summed without its walk; exact up to the bound."""
        total = 2 + 4 * len(values)
        for k, v in values.items():
            total += len(k) if type(k) is str else _size(k, LIMITS.max_input_chars)
            kind = type(v)
            if kind is str:
                total += len(v)
            elif v is None:
                total += 8
            elif (kind is list or kind is tuple) and all(type(x) is str for x in v):
                total += 2 + 2 * len(v) + sum(map(len, v))
            else:
                total += self._frozen(v)[1]
        return total

    def render(self, text: str, values: dict[str, Any]) -> str:
        return self.render_parts(text, values)[0]

    def render_parts(self, text: str, values: dict[str, Any]) -> tuple[str, Shape | None, list[str]]:
        """The render, with the shape it came from and the values in its holes (None and [] for a
        plain render): callers may derive more from a shape once (see `Shape.memo`)."""
        plan = _plan(text)
        if plan is None or (plan.renders >= _GIVE_UP_AFTER and plan.hits * 2 < plan.renders):
            return compile_template(text).render(**values), None, []
        plan.renders += 1
        if self._input_size(values) > LIMITS.max_input_chars:
            check_input(values)  # raises, with the plain render's message
        key: list[Any] = []
        holes: list[str] = []
        for name, mode in plan.modes:
            value = values.get(name, _ABSENT)
            kind = type(value)
            if mode is _STR and kind is str and value:
                key.append((len(value) - 1).bit_length())
                holes.append(value)
            elif mode is _LIST and (kind is list or kind is tuple) and all(type(v) is str for v in value):
                key.append((kind, tuple((len(v) - 1).bit_length() if v else -1 for v in value)))
                holes += [v for v in value if v]
            elif value is _ABSENT:
                key.append(_ABSENT)
            elif kind is str:
                key.append(("v", value))  # a str freezes to itself
            else:
                frozen = self._frozen(value)[0]
                if frozen is None:  # not plain data: render this one plainly
                    return compile_template(text).render(**values), None, []
                key.append(("v", frozen))
        shape = tuple(key)
        found = plan.shapes.get(shape)
        if found is None:
            found = self._render_shape(text, plan, values)
            if found is None:
                return compile_template(text).render(**values), None, []
            if len(plan.shapes) >= _MAX_SHAPES:
                del plan.shapes[next(iter(plan.shapes))]
            plan.shapes[shape] = found
        else:
            plan.hits += 1
        literals = found.literals
        out = [literals[0]]
        for index, literal in zip(found.indices, literals[1:], strict=True):
            out.append(holes[index])
            out.append(literal)
        return check_output("".join(out), values), found, holes

    def _render_shape(self, text: str, plan: _Plan, values: dict[str, Any]) -> Shape | None:
        """The bounded render of the shape of `values` (each hole a sentinel as long as its bucket),
        split at its sentinels; None when it fails or holds anything but whole sentinels after a
        nonce. Holes are numbered as `render` lists them."""
        marks: list[str] = []
        sentinels: dict[str, Any] = {}
        for name, mode in plan.modes:
            value = values.get(name, _ABSENT)
            kind = type(value)
            if mode is _STR and kind is str and value:
                sentinels[name] = self._hole(marks, value)
            elif mode is _LIST and (kind is list or kind is tuple) and all(type(v) is str for v in value):
                shown = [self._hole(marks, v) if v else "" for v in value]
                sentinels[name] = shown if kind is list else tuple(shown)
            elif value is not _ABSENT:
                sentinels[name] = value
        if len(marks) > 0xFFFF:
            return None
        try:
            out = compile_template(text).render(**sentinels)
        except Exception:  # noqa: BLE001 - the record's own render says what is wrong
            return None
        parts = out.split(_NONCE)
        literals, indices = [parts[0]], []
        for part in parts[1:]:
            digits = part[:4]
            if len(digits) != 4 or not all(c in "0123456789abcdef" for c in digits):
                return None
            index = int(digits, 16)
            if index >= len(marks) or not part.startswith(marks[index]):
                return None
            indices.append(index)
            literals.append(part[len(marks[index]) :])
        return Shape(tuple(literals), tuple(indices), out, tuple(len(_NONCE) + len(m) for m in marks))

    @staticmethod
    def _hole(marks: list[str], value: str) -> str:
        """A sentinel for `value`: the nonce, its index, padding to the value's bucket."""
        mark = f"{len(marks):04x}\x01"
        mark += "\x02" * (_bucket(len(value)) - len(_NONCE) - len(mark))
        marks.append(mark)
        return _NONCE + mark


def render_shaped(text: str, values: dict[str, Any]) -> str:
    """The bounded render of template `text` with `values`, memoized by shape (module docstring)."""
    return ShapeRenderer().render(text, values)


__all__ = ["LIMITS", "Shape", "ShapeRenderer", "render_shaped"]
