#!/usr/bin/env bash
# BESA benchmark (release build): the sgemm rate, then Wanda and BESA at 50% on the reference
# 64 x 512 calibration windows in one process (Scripts/bench-besa.lua). Prints the prune times and
# their ratio, BESA's split (block forwards, backward, optimiser, mask building, the engine's own
# forwards), and the block forward and backward rates in GFLOP/s against sgemm's, from the FLOPs
# of one SmolLM2-shaped step (forward 2·T·Σ d_out·d_in + attention; backward twice the linear part
# + the attention backward). --layers N first cuts the model to its first N layers (a shorter run).
# Usage: Scripts/bench-besa.sh [--layers N] [MODEL]   (needs ../shared/data beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

layers=""
if [ "${1:-}" = "--layers" ]; then layers="$2"; shift 2; fi
source Scripts/lib/bench.sh
bench_setup bench-besa "${1:-}"
if [ -n "$layers" ]; then
    total="$("$shears" inspect "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["layer_count"])')"
    "$shears" convert "$model" --type f32 --drop-layers "$layers-$((total - 1))" --out "$out/cut.gguf" >&2
    model="$out/cut.gguf"
fi
"$shears" bench "$model" --seqlen 512 --runs 3 --json > "$out/bench.json"
"$shears" run Scripts/bench-besa.lua model="$model" data="$data" | tee "$out/besa.txt"
python3 - "$out/bench.json" "$out/besa.txt" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
fields = {line.split("\t")[0]: line.rstrip("\n").split("\t")[1:] for line in open(sys.argv[2])}
split = {k: float(v) for k, v in (item.split(" ") for item in fields["besa_split"])}
steps = int(fields["besa"][2].split(" ")[1])
# SmolLM2 block: Σ d_out·d_in = 3,538,944; 9 query heads of 64; windows of T = 512.
T, linear, heads, dh = 512, 3538944, 9, 64
attention = 2 * 2 * T * T * dh * heads / 2            # QKᵀ and PV, causal half
forward = 2 * T * linear + attention
backward = 2 * (2 * T * linear) + 2 * 2 * attention   # dW and dX of every linear; dQ, dK, dV, dP
print(f"sgemm {bench['sgemm_gflops']:.1f} GFLOP/s; block forward {steps * forward / split['forward'] / 1e9:.1f} "
      f"GFLOP/s, backward {steps * backward / split['backward'] / 1e9:.1f} GFLOP/s over {steps} steps")
PY
