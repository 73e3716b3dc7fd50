#!/usr/bin/env bash
# The README's main job on this machine: the example specs end to end on a tiny local model.
#   build the tiny model → seeds fetch + fetch-eval (fixtures) → lint → plan → apply --limit → report
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false VLLM_LOGGING_LEVEL=${VLLM_LOGGING_LEVEL:-WARNING}
PROJECT=examples/local/tsqa.yaml
LIMIT=${TSQA_EXAMPLE_LIMIT:-3}

[[ -f .tsqa/models/tiny/config.json ]] || python -m tsqa.testing.tiny_model .tsqa/models/tiny
tsqa seeds fetch specs/ --project "$PROJECT" --data-dir tests/fixtures/seeds
tsqa seeds fetch-eval specs/ --project "$PROJECT" --data-dir tests/fixtures/seeds
tsqa lint specs/ --project "$PROJECT"
tsqa plan specs/ --project "$PROJECT" -o runs/local-example.plan.json
tsqa apply specs/ --project "$PROJECT" --limit "$LIMIT" --no-progress
