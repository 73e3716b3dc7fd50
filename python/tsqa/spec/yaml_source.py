"""YAML → plain Python data plus a table of source positions.

Specs are parsed with ruamel.yaml's composer (the libyaml-based C composer when
`ruamel.yaml.clibz` is installed, the pure-Python one otherwise) and turned into dicts, lists and
scalars by our own small constructor. Doing construction ourselves is what makes loading safe and
precise: only the YAML core-schema tags are accepted (a `!!python/object` tag can never build an
object), duplicate keys are errors instead of silent overwrites, alias expansion is bounded, and
every key and value keeps its `line:col` for diagnostics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MantissaNoDotYAML1_1Warning, MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, StreamEndEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # The C composer is ~15x faster; it matters when CI lints hundreds of specs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ruamel.yaml.cyaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the optional wheel being available
    from ruamel.yaml.loader import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null")}
_STR, _FLOAT, _MAP, _SEQ, _MERGE = (f"{_CORE}{t}" for t in ("str", "float", "map", "seq", "merge"))
_COLLECTIONS = (MappingNode, SequenceNode)
# Timestamps stay text: a spec has no date fields, and "2024-01-01" as a revision must stay a str.
_TEXT_TAGS = {f"{_CORE}timestamp"}
_MAX_NODES = 200_000  # bound alias expansion ("billion laughs")
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences a document may have. The composers recurse once per
level (the C one on the C stack: 100 000 `[` crash the process), so depth is measured on the
parser's event stream, which is flat, before anything is composed."""


@dataclass(frozen=True, order=True)
class Pos:
    """A 1-based source position."""

    line: int
    col: int


@dataclass
class YamlDocument:
    """The data of one YAML file and where each part of it came from."""

    file: Path
    data: Any
    # path → position of the value; for mapping entries also the key position.
    values: dict[PathKey, Pos] = field(default_factory=dict)
    keys: dict[PathKey, Pos] = field(default_factory=dict)

    def position(self, path: PathKey, *, prefer_key: bool = False) -> Pos:
        """Position of `path`, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefer_key and end == len(path) and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return Pos(1, 1)


class YamlLoadError(Exception):
    """A file that is not a usable YAML document; carries the position and a rule id."""

    def __init__(self, rule: str, message: str, pos: Pos) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.pos = pos


def load_yaml_file(path: Path) -> YamlDocument:
    """Read and parse `path`; raises YamlLoadError for anything that is not a clean document."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlLoadError("io-error", f"cannot read file: {exc.strerror}", Pos(1, 1)) from None
    return parse_yaml(raw, path)


def parse_yaml(raw: bytes | str, path: Path) -> YamlDocument:
    text = _decode(raw) if isinstance(raw, bytes) else raw
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise YamlLoadError("yaml-syntax", "file contains NUL bytes (binary data?)", Pos(line, 1))
    try:
        # Every mapping or list opens with an indicator of its own (a key's `:` or `?`, an entry's
        # `-`, a `[` or `{`): a text with at most MAX_DEPTH of them cannot nest deeper (most specs).
        if sum(text.count(c) for c in "[{-:?") > MAX_DEPTH:
            _check_depth(text)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "\t" in _leading_whitespace(_line_at(text, pos.line)):
            problem = "tab characters are not allowed for indentation in YAML; use spaces"
        raise YamlLoadError("yaml-syntax", problem, pos) from None
    except (YAMLError, ValueError) as exc:
        raise YamlLoadError("yaml-syntax", str(exc).splitlines()[0], Pos(1, 1)) from None
    doc = YamlDocument(file=path, data=None)
    if root is None:
        return doc
    builder = _Builder(doc)
    try:
        doc.data = builder.build(root, ())
    except RecursionError:  # a shape the checks above do not foresee: still a message, not a traceback
        raise YamlLoadError("yaml-structure", "document nested too deeply (aliases?)", Pos(1, 1)) from None
    return doc


def _check_depth(text: str) -> None:
    """YamlLoadError at the first collection nested deeper than MAX_DEPTH (events, no recursion)."""
    loader = _Loader(text)
    depth = 0
    try:
        while not loader.check_event(StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise YamlLoadError(
                        "yaml-structure",
                        f"nested more than {MAX_DEPTH} levels deep (mappings and lists inside each other)",
                        Pos(mark.line + 1, mark.column + 1),
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlLoadError(
            "yaml-syntax", f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x})", Pos(line, 1)
        ) from None


def _line_at(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Builder:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.nodes = 0
        self.constructor = _Loader("")  # used only for scalar conversion (ints, floats, bools)
        self.open: set[int] = set()  # collections being built: an alias to one of them is a cycle

    def build(self, node: Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise YamlLoadError("yaml-syntax", "document too large (alias expansion?)", _pos(node))
        if len(path) > MAX_DEPTH:
            raise YamlLoadError(
                "yaml-structure", f"nested more than {MAX_DEPTH} levels deep (through aliases)", _pos(node)
            )
        if path not in self.doc.values:  # the first position wins (an alias repeats a path)
            self.doc.values[path] = _pos(node)
        if isinstance(node, _COLLECTIONS):
            if id(node) in self.open:
                raise YamlLoadError(
                    "yaml-structure", "an alias refers to a collection that contains it (a cycle)", _pos(node)
                )
            self.open.add(id(node))
            try:
                if isinstance(node, MappingNode):
                    return self._mapping(node, path)
                self._check_tag(node, _SEQ)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        return self._scalar(node)

    def _check_tag(self, node: Node, expected: str, tag: str | None = None) -> None:
        tag = node.tag if tag is None else tag  # `tag` is a property that builds a str each time
        if tag != expected:
            raise YamlLoadError(
                "yaml-tag",
                f"YAML tag {_short_tag(tag or '')!r} is not allowed: specs hold plain data only",
                _pos(node),
            )

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        self._check_tag(node, _MAP)
        out: dict[str, Any] = {}
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key) if isinstance(key, int | float | bool) and key is not None else key
            if not isinstance(key, str):
                raise YamlLoadError("yaml-syntax", "mapping keys must be scalars", _pos(key_node))
            if key in out:
                first = self.doc.keys[(*path, key)]
                raise YamlLoadError(
                    "yaml-duplicate-key",
                    f"duplicate key {key!r} (first defined at line {first.line})",
                    _pos(key_node),
                )
            self.doc.keys[(*path, key)] = _pos(key_node)
            out[key] = self.build(value_node, (*path, key))
        # `<<: *anchor` merges: explicit keys win, as in YAML 1.1.
        for source in merged:
            for key, value in self._mapping(source, path).items():
                out.setdefault(key, value)
        return out

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if id(node) in self.open or (isinstance(node, SequenceNode) and any(id(n) in self.open for n in node.value)):
            raise YamlLoadError("yaml-structure", "'<<' merges a mapping into itself (a cycle)", _pos(node))
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        raise YamlLoadError("yaml-syntax", "'<<' must merge a mapping or a list of them", _pos(node))

    def _scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise YamlLoadError("yaml-syntax", "expected a scalar here", _pos(node))
        tag = node.tag
        if tag in _TEXT_TAGS:
            return node.value
        if tag not in _SCALAR_TAGS:
            self._check_tag(node, _STR, tag)
        if tag == _STR:
            return node.value
        try:
            if tag == _FLOAT:
                with warnings.catch_warnings():
                    # ruamel warns (YAML 1.1 style) on floats like 1e5; the value is still the right float.
                    warnings.simplefilter("ignore", MantissaNoDotYAML1_1Warning)
                    value = self.constructor.construct_object(node, deep=True)
            else:
                value = self.constructor.construct_object(node, deep=True)
        except ValueError as exc:  # an integer of over 4,300 digits (Python's int() limit)
            raise YamlLoadError("yaml-syntax", f"unreadable value: {str(exc).split(';')[0]}", _pos(node)) from None
        if isinstance(value, int) and value.bit_length() > 64:  # no setting needs more; str() of 0xfff… fails
            raise YamlLoadError("yaml-syntax", f"integer of {value.bit_length()} bits: over 64 bits", _pos(node))
        return value
