#!/usr/bin/env bash
# Pruning benchmark on the default model (release build): Wanda and SparseGPT at 50% with the
# reference 64 x 512 calibration windows from WikiText-2 validation. Prints, for each, seconds per
# phase (calibration forwards, statistics, scoring and selection, reconstruction), the total, the
# forwards' FLOP rate against the sgemm rate measured in the same process, and peak RSS.
# Usage: Scripts/bench-prune.sh [MODEL]   (needs ../shared/data beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

source Scripts/lib/bench.sh
bench_setup bench-prune "${1:-}"

echo "== pruning kernels (1536 x 576) next to a memory-bandwidth probe"
"$shears" bench "$model" --seqlen 64 --runs 1 --kernels | sed -n '/^prune kernels\|GB\/s/p'
echo

for method in wanda sparsegpt; do
    echo "== $method 50%, 64 x 512 calibration"
    "$shears" prune "$model" --method "$method" --sparsity 0.5 --seqlen 512 \
        --calib-ids "$data/wikitext2-valid.smollm2-ids.i32" \
        --calib-offsets "$data/wikitext2-valid.calib-64x512-seed0.offsets" \
        --out "$out/$method.gguf" --bench
    echo
done
