#!/usr/bin/env bash
# The results table: prunes the default model with every method (magnitude, Wanda, SparseGPT, RIA),
# each alone, with DSnoT, with OWL and with both, at 50/60/70% unstructured and 2:4, using the
# reference calibration windows (64 x 512 ids of WikiText-2 validation, seed 0), evaluates the first
# 40 chunks of 2048 WikiText-2 test ids, and writes docs/results.md.
#
# Usage: Scripts/results.sh [--only REGEX] [--force] [--retime] [--chunks N] [--render] [MODEL]
#   --only REGEX  run only the configurations whose key (method/level/owl/dsnot) matches
#   --force       re-run configurations that already have a result
#   --retime      also re-run those whose last run was timed on a busy machine (see other_load)
#   --render      only rewrite docs/results.md from the recorded runs
# Runs are recorded one line each in docs/results-runs.tsv (kept in git, the data behind the table)
# as they finish, so an interrupted run resumes where it stopped, also from a fresh clone. Each line
# also records `other_load`: the CPU cores that anything other than the run itself used on average
# while it ran (from /proc/stat, hypervisor steal included), so times measured on a busy machine are
# flagged in the table. Logs go to out/results/. Needs ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

only="" force=0 retime=0 chunks=40 render_only=0 model=""
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --force) force=1; shift ;;
        --retime) retime=1; shift ;;
        --chunks) chunks="$2"; shift 2 ;;
        --render) render_only=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "results: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) model="$1"; shift ;;
    esac
done

data=../shared/data
runs=docs/results-runs.tsv
mkdir -p out/results
[ -f "$runs" ] || printf 'method\tlevel\towl\tdsnot\tppl\tsparsity\tprune_s\teval_s\tchunks\tdate\tother_load\n' > "$runs"

render() { python3 Scripts/lib/results_table.py "$runs" out/results/machine.txt docs/results.md; }
if [ "$render_only" = 1 ]; then render; exit 0; fi

if [ ! -f "$data/wikitext2-valid.smollm2-ids.i32" ]; then
    echo "results: $data/wikitext2-valid.smollm2-ids.i32 not found (put shared/ beside the checkout)" >&2
    exit 2
fi
swift build -c release --product shears >&2
swift build -c release --product ShearsOBSPlugin >&2
shears=.build/release/shears
[ -n "$model" ] || model="$(Scripts/fetch-model.sh | tail -n 1)"

# The machine, measured beside the runs: the BLAS kernel and its sgemm rate.
"$shears" bench "$model" --seqlen 512 --runs 3 --json > out/results/bench.json
python3 - out/results/bench.json > out/results/machine.txt <<'PY'
import json, os, sys, subprocess
b = json.load(open(sys.argv[1]))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"{os.cpu_count()} cores, OpenBLAS core {b['blas_core']}, kernels {b['kernel_isa']}, "
      f"sgemm {b['sgemm_gflops']:.0f} GFLOP/s, forward at {100 * b['fraction_of_sgemm']:.0f}% of sgemm; commit {commit}")
PY
cat out/results/machine.txt

# CPU time the whole machine has spent busy (user, nice, system, irq, softirq, steal), in ticks.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
ticks_per_second="$(getconf CLK_TCK)"
quiet_load=0.25  # other_load (cores) up to which a run's times count as measured on a quiet machine

configs=("dense/-/false/false")
for level in 0.5 0.7 2:4 0.6; do
    for method in magnitude wanda sparsegpt ria; do
        for owl in false true; do
            for dsnot in false true; do
                # DSnoT refines a mask before any weight update; SparseGPT chooses its mask while it
                # updates the weights, so there is no mask to refine (see docs/results.md).
                [ "$method" = sparsegpt ] && [ "$dsnot" = true ] && continue
                configs+=("$method/$level/$owl/$dsnot")
            done
        done
    done
done

# The example plugin criterion (OBS saliency, Plugins/obs-c) against Wanda, alone and re-fitted.
configs+=("obs/0.5/false/false" "obs-refit/0.5/false/false" "wanda-refit/0.5/false/false")
# The gradient criterion (LLM-Pruner's element-wise Taylor terms, order 1 and 2).
configs+=("taylor/0.5/false/false" "taylor/2:4/false/false" "taylor2/0.5/false/false" "taylor2/2:4/false/false")
# BESA (a layer step learning per-row sparsities; unstructured only).
configs+=("besa/0.5/false/false" "besa/0.6/false/false" "besa/0.7/false/false")
# BESA's penalty is soft and a row cannot pass 62.4%: at 70% only exact = true reaches the target.
configs+=("besa-exact/0.7/false/false")

# What the recorded runs hold for a configuration: missing, busy (timed while other work ran, or
# before that was recorded) or quiet.
recorded() {
    IFS=/ read -r method level owl dsnot <<< "$1"
    awk -F'\t' -v m="$method" -v l="$level" -v o="$owl" -v d="$dsnot" -v c="$chunks" -v quiet="$quiet_load" \
        '$1==m && $2==l && $3==o && $4==d && $9==c {found=1; load=$11}
         END {print !found ? "missing" : (load != "" && load + 0 <= quiet) ? "quiet" : "busy"}' "$runs"
}

# The configurations to run: those without a result first (all of them with --force), then with
# --retime those timed on a busy machine.
todo=()
for pass in missing busy; do
    [ "$pass" = missing ] || [ "$retime" = 1 ] || break
    for key in "${configs[@]}"; do
        [ -z "$only" ] || [[ "$key" =~ $only ]] || continue
        state="$(recorded "$key")"
        if [ "$pass" = missing ] && { [ "$force" = 1 ] || [ "$state" = missing ]; }; then todo+=("$key"); fi
        if [ "$pass" = busy ] && [ "$force" = 0 ] && [ "$state" = busy ]; then todo+=("$key"); fi
    done
done

for key in "${todo[@]}"; do
    IFS=/ read -r method level owl dsnot <<< "$key"
    echo "== $key" >&2
    log="out/results/$(echo "$key" | tr '/:' '__').log"
    busy_before="$(busy_ticks)"
    TIMEFORMAT='%3U %3S %3R'
    if { time "$shears" run --plugin-dir .build/release Scripts/results.lua model="$model" data="$data" method="$method" \
        level="$level" owl="$owl" dsnot="$dsnot" chunks="$chunks" > "$log" 2>&1; } 2> out/results/time.txt; then
        read -r user_s system_s wall_s < out/results/time.txt
        other_load="$(awk -v b0="$busy_before" -v b1="$(busy_ticks)" -v hz="$ticks_per_second" -v u="$user_s" \
            -v s="$system_s" -v w="$wall_s" 'BEGIN { x = ((b1 - b0) / hz - u - s) / w; printf "%.2f", x < 0 ? 0 : x }')"
        line="$(grep '^result' "$log" | tail -n 1 | cut -f2-)"
        printf '%s\t%s\t%s\t%s\n' "$line" "$chunks" "$(date -u +%Y-%m-%dT%H:%MZ)" "$other_load" >> "$runs"
        echo "$line (other load $other_load cores)" >&2
    else
        echo "results: $key failed (see $log):" >&2
        tail -n 3 "$log" >&2
    fi
done
render
echo "written docs/results.md" >&2
