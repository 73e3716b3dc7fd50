"""Read `!function` modules as source text (ast), never importing them.

Importing a task's helper module can pull evaluation dependencies or call `sys.exit`; the
catalogue only needs a structural hint, so it parses the file.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path


def returns_index(function_ref: str) -> bool:
    """Whether the referenced function returns an int (lm-eval's multiple-input `doc_to_text`).

    Recognised return shapes: an int literal, `int(...)`, `x.index(...)`, and a lookup in a
    dict literal of ints (winogrande: `{"1": 0, "2": 1}[doc["answer"]]`).
    """
    module, _, name = function_ref.rpartition(".")
    tree = _parse(module + ".py")
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            int_dicts = _int_dict_names(node)
            return any(
                isinstance(ret, ast.Return) and ret.value is not None and _is_index(ret.value, int_dicts)
                for ret in ast.walk(node)
            )
    return False


@cache
def _parse(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _int_dict_names(fn: ast.FunctionDef) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and _is_int_dict(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(names)


def _is_int_dict(node: ast.expr) -> bool:
    return isinstance(node, ast.Dict) and bool(node.values) and all(_is_int(v) for v in node.values)


def _is_int(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_index(node: ast.expr, int_dicts: frozenset[str]) -> bool:
    if _is_int(node):
        return True
    if isinstance(node, ast.Call):
        f = node.func
        return (isinstance(f, ast.Name) and f.id == "int") or (isinstance(f, ast.Attribute) and f.attr == "index")
    if isinstance(node, ast.Subscript):
        v = node.value
        return _is_int_dict(v) or (isinstance(v, ast.Name) and v.id in int_dicts)
    return False
