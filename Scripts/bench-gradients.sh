#!/usr/bin/env bash
# Gradient benchmark on SmolLM2 (release build): forward time, forward+backward time
# (ModelGradients.weights) and their ratio on one 2048-token window and on 8 windows of 512, the
# sgemm rate measured in the same process, the peak RSS, and PyTorch CPU autograd on the same
# 8x512 windows when the reference environment (Scripts/install-refenv.sh) exists.
# Usage: Scripts/bench-gradients.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/blas-env.sh
export SHEARS_MODEL="${1:-${SHEARS_MODEL:-$HOME/.cache/shears/models/SmolLM2-135M-Instruct.Q4_1.gguf}}"
swift build -c release --build-tests >&2
SHEARS_BENCH_GRADIENTS=1 swift test -c release --skip-build --filter GradientBenchmarkTests 2>&1 \
    | grep -E '^(sgemm|1x2048|8x512)|✘' || true
refenv="${SHEARS_CACHE:-$HOME/.cache/shears}/refenv/bin/python"
if [[ -x "$refenv" ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    .build/release/shears convert "$SHEARS_MODEL" --out "$work/model" --type f32 >/dev/null 2>&1 \
        || { echo "torch: could not convert the model to safetensors" >&2; exit 0; }
    head -c $((8 * 512 * 4)) ../shared/data/wikitext2-test.smollm2-ids.i32 >"$work/ids.i32"
    "$refenv" Scripts/torch_gradients.py "$work/model" "$work/ids.i32" --seqlen 512 --windows 8 \
        --out "$work/grads.safetensors" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); print("torch 8x512: forward+backward %.2f s on %d threads" % (r["seconds"], r["threads"]))'
fi
