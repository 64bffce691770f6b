#!/usr/bin/env bash
# SCOP's estimators against one calibration forward (release build): each configuration prunes the
# default model with `--method scop` (20% of its parameters removed, or a third of its KV groups
# for the regression), and the step notes its estimator's
# seconds and the seconds of one forward over the same calibration windows, measured in the same
# process. Prints per configuration the estimator's seconds, its ratio to that forward, and for the
# iterative estimators the cost of one step or swap set in forwards of the windows it reads (and
# the gradient estimator's 300 steps extrapolated from the steps run).
# Usage: Scripts/bench-scop.sh [--steps N] [MODEL]   (default 10 steps; needs ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."

steps=10
if [ "${1:-}" = "--steps" ]; then steps="$2"; shift 2; fi
source Scripts/lib/bench.sh
bench_setup bench-scop "${1:-}"
calib=(--calib-ids "$data/wikitext2-valid.smollm2-ids.i32" --seed 0)

# name|windows (samples seqlen)|windows one step or swap set reads|arguments
configurations=(
    "gradient unpaired, heads+channels, $steps steps of 8 x 256|16 256|8|--params 0.2 --param estimate=gradient --param steps=$steps --param batch=8"
    "local gaussian, heads+channels|64 128|0|--params 0.2 --param estimate=local --param knockoffs=gaussian"
    "local unpaired, channels|64 128|0|--params 0.2 --param units=channels --param estimate=local"
    "regression unpaired, KV groups (4 swap sets per group, 2 x 128 each)|16 128|2|--param ratio=0.34 --param units=kv_groups --param estimate=regression --param batch=2"
)
printf '| estimator | windows | estimator s | × one forward | forwards per step or swap set |\n|---|---|---:|---:|---:|\n'
for entry in "${configurations[@]}"; do
    IFS='|' read -r name windows per arguments <<<"$entry"
    read -r samples seqlen <<<"$windows"
    # shellcheck disable=SC2086  # the arguments are words
    "$shears" prune "$model" --method scop $arguments "${calib[@]}" --samples "$samples" --seqlen "$seqlen" \
        --type f16 --out "$out/scop.gguf" --no-journal >"$out/log" 2>&1 || { echo "bench-scop: $name failed:" >&2; tail -n 3 "$out/log" >&2; exit 1; }
    python3 - "$out/log" "$name" "$samples" "$seqlen" "$per" "$steps" <<'PY'
import re, sys
log, name, samples, seqlen, per, steps = sys.argv[1:]
text = open(log).read()
m = re.search(r"estimator: ([\d.]+) s, ([\d.]+)× one forward over the (\d+) calibration windows \(([\d.]+) s\)", text)
if not m:
    sys.exit(f"bench-scop: no estimator note in the log of {name}")
estimate, ratio, windows, forward = float(m[1]), float(m[2]), int(m[3]), float(m[4])
count = re.search(r"/gradient: (\d+) steps of|/regression: (\d+) swap sets", text)
iterations = int(count[1] or count[2]) if count else 0
column = "—"
if int(per) and iterations:
    each = estimate / iterations / (forward * int(per) / windows)
    column = f"{each:.2f}"
    if count[1]:
        column += f" (300 steps ≈ {300 * estimate / iterations / 60:.0f} min)"
print(f"| {name} | {samples} × {seqlen} | {estimate:.1f} | {ratio:.1f}× | {column} |")
PY
done
echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
