#!/usr/bin/env bash
# Plugin boundary benchmark (release build): the C Wanda example plugin against the built-in Wanda
# criterion on one decoder layer of SmolLM2-135M's matrix shapes (or MODEL's), interleaved runs,
# median of each and their ratio, for the criterion alone and for criterion + per-row selection
# (where the host's NaN check of plugin scores is fused into the selection). Then the conformance
# check of every example plugin.
# Usage: Scripts/bench-plugin.sh [MODEL] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product shears >&2
for product in ShearsWandaPlugin ShearsOBSPlugin ShearsPowerPlugin; do
    swift build -c release --product "$product" >&2
done
shears=.build/release/shears
model_args=()
if [ $# -ge 1 ] && [ -n "$1" ]; then model_args=(--model "$1"); fi
runs="${2:-41}"

echo "== C Wanda plugin vs built-in Wanda (median of $runs interleaved runs)"
"$shears" plugin-check .build/release/libShearsWandaPlugin.so --criterion wanda \
    --compare-builtin wanda --runs "$runs" "${model_args[@]}" | grep '^BENCH'
echo

for product in ShearsWandaPlugin ShearsOBSPlugin ShearsPowerPlugin; do
    echo "== plugin-check lib$product.so"
    "$shears" plugin-check ".build/release/lib$product.so"
    echo
done
