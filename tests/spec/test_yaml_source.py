"""YAML loading: positions, safety, and clean errors for hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsqa.spec.yaml_source import Pos, YamlLoadError, parse_yaml

P = Path("x.yaml")


def test_positions_of_keys_and_values() -> None:
    doc = parse_yaml("task: a\nverify:\n  samples: 5\nlist: [x, {k: v}]\n", P)
    assert doc.keys[("verify", "samples")] == Pos(3, 3)
    assert doc.values[("verify", "samples")] == Pos(3, 12)
    assert doc.values[("list", 1, "k")] == Pos(4, 15)
    assert doc.position(("verify", "nope")) == Pos(3, 3)  # nearest existing ancestor: the verify mapping


def test_core_schema_scalars_and_merge_keys() -> None:
    doc = parse_yaml(
        "a: 0x1F\nb: .inf\nc: null\nd: 2024-01-01\ne: 'yes'\nf: true\nbase: &b {x: 1}\ng: {<<: *b, y: 2}\n", P
    )
    assert doc.data["a"] == 31 and doc.data["b"] == float("inf") and doc.data["c"] is None
    assert doc.data["d"] == "2024-01-01" and doc.data["e"] == "yes" and doc.data["f"] is True
    assert doc.data["g"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("text", "rule", "pos"),
    [
        ("a: !!python/object/apply:os.system [ls]\n", "yaml-tag", Pos(1, 4)),
        ("a: !custom 1\n", "yaml-tag", Pos(1, 4)),
        ("a: !!binary aGVsbG8=\n", "yaml-tag", Pos(1, 4)),
        ("a: 1\nb: 2\na: 3\n", "yaml-duplicate-key", Pos(3, 1)),
        ("a:\n\tb: 1\n", "yaml-syntax", Pos(2, 1)),
        ("a: [1\n", "yaml-syntax", Pos(2, 1)),
        ("a: b\x00c\n", "yaml-syntax", Pos(1, 1)),
        ("a: 1\n---\nb: 2\n", "yaml-syntax", Pos(2, 1)),
    ],
)
def test_refused_input(text: str, rule: str, pos: Pos) -> None:
    with pytest.raises(YamlLoadError) as info:
        parse_yaml(text, P)
    assert (info.value.rule, info.value.pos) == (rule, pos)


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    with pytest.raises(YamlLoadError, match="too large"):
        parse_yaml("\n".join(lines) + "\n", P)


def test_invalid_utf8_names_the_line() -> None:
    with pytest.raises(YamlLoadError) as info:
        parse_yaml(b"a: 1\nb: \xff\n", P)
    assert info.value.pos == Pos(2, 1) and "not UTF-8" in info.value.message


def test_floats_without_a_dot_load_silently() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = parse_yaml("a: 5e-324\nb: 1e5\n", P)
    assert doc.data == {"a": 5e-324, "b": 1e5}
