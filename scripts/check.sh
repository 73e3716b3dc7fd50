#!/usr/bin/env bash
# Style and type checks, run by .ci/run before the tests: ruff (lint + format), mypy --strict on
# python/tsqa, stubtest of the native module against its .pyi, rustfmt and clippy.
# Needs the package installed (stubtest imports tsqa._native): run after `pip install .`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python -m pip install --quiet "ruff==0.17.6" "mypy==2.4.1"
say() { printf '[check] %s\n' "$*"; }
say "ruff check";          ruff check python tests benchmarks
say "ruff format --check"; ruff format --check python tests benchmarks
say "mypy --strict";       mypy
# stubtest compares the installed extension with the stub it ships; run outside the source tree
# so the import is the built module, not python/tsqa.
say "stubtest tsqa._native"; (cd /tmp && python -m mypy.stubtest tsqa._native)
say "cargo fmt --check";   cargo fmt --check
say "cargo clippy";        cargo clippy --all-targets --features python -- -D warnings
say "all checks passed"
