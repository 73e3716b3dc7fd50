"""Property: whatever bytes a spec file holds, lint returns diagnostics and an exit code; it never
raises and no rule crashes (no internal-error)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsqa.lint import lint_paths

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = FIXTURES / "tsqa.yaml"
SEED_TEXTS = [p.read_bytes() for p in sorted((FIXTURES / "good").glob("*.yaml"))] + [
    (Path(__file__).resolve().parents[2] / "specs" / "arc_challenge.yaml").read_bytes()
]

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["{{ question }}", "{{ x", "!!python/object:os.system", "&a", "*a", "<<", "train", "test"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "task",
                    "seed",
                    "lm_eval",
                    "split",
                    "format",
                    "fields",
                    "verify",
                    "kind",
                    "generate",
                    "prompt",
                    "inline",
                    "blend",
                    "weight",
                    "model",
                    "files",
                    "hf",
                    "extractor",
                    "x",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def _lint_bytes(tmp: Path, data: bytes) -> None:
    spec = tmp / "spec.yaml"
    spec.write_bytes(data)
    result = lint_paths([spec], project_file=PROJECT)
    assert all(d.rule != "internal-error" for d in result.diagnostics), result.diagnostics
    assert all(d.line >= 1 and d.col >= 1 for d in result.diagnostics)


settings.register_profile(
    "lint", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings(settings.get_profile("lint"))
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    _lint_bytes(tmp_path, data)


@settings(settings.get_profile("lint"))
@given(
    st.sampled_from(SEED_TEXTS),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 5), st.binary(max_size=6)), max_size=6),
)
def test_mutated_specs(tmp_path: Path, seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    data = bytearray(seed)
    for at, delete, insert in edits:
        at %= len(data) + 1
        data[at : at + delete] = insert
    _lint_bytes(tmp_path, bytes(data))


@settings(settings.get_profile("lint"))
@given(yaml_values)
def test_random_yaml_structures(tmp_path: Path, value: object) -> None:
    import json

    # JSON is YAML: any structure, any types, in any place.
    _lint_bytes(tmp_path, json.dumps(value, default=str).encode())


@settings(settings.get_profile("lint"))
@given(
    st.sampled_from(SEED_TEXTS),
    st.sampled_from(["task", "seed", "format", "fields", "verify", "blend", "generate"]),
    yaml_values,
)
def test_specs_with_a_field_replaced(tmp_path: Path, seed: bytes, key: str, value: object) -> None:
    import json

    lines = [ln for ln in seed.decode().splitlines() if not ln.startswith(f"{key}:") and not ln.startswith(" ")]
    lines.append(f"{key}: {json.dumps(value, default=str)}")
    _lint_bytes(tmp_path, "\n".join(lines).encode())
