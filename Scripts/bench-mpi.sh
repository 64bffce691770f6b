#!/usr/bin/env bash
# MPI benchmark (issue 17): the speed-up of a prune across 2 ranks × 1 BLAS thread against 1 rank ×
# 1 thread on the same windows (and 1 process × 2 threads beside them), release build. Runs are
# interleaved (one of each per round) and the medians reported: wall time of the command and the
# prune's own time ("in X s": calibration, statistics, selection; no load or write). Also checks
# that the 2-rank Wanda output has the single-process bytes.
#
# Usage: Scripts/bench-mpi.sh [MODEL.gguf]   (default SmolLM2; needs ../shared/data beside the checkout)
# Environment:
#   METHODS          methods pruned at 50% ("wanda sparsegpt")
#   SAMPLES SEQLEN   calibration windows (16 512)
#   ROUNDS           rounds of interleaved runs (3)
set -euo pipefail
cd "$(dirname "$0")/.."

methods="${METHODS:-wanda sparsegpt}" samples="${SAMPLES:-16}" seqlen="${SEQLEN:-512}" rounds="${ROUNDS:-3}"
source Scripts/lib/bench.sh
bench_setup bench-mpi "${1:-}"
if ! command -v mpirun >/dev/null || ! "$shears" --version | grep -q ", MPI)"; then
    echo "bench-mpi: needs mpirun and shears built with MPI (apt-get install libopenmpi-dev openmpi-bin; rebuild)" >&2
    exit 2
fi
mpi=(mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1 -np 2)

# run LABEL METHOD CMD...: runs a prune, appending "wall prune" seconds to $out/LABEL-METHOD.
run() {
    local label="$1" method="$2"
    shift 2
    local start end
    start=$(date +%s.%N)
    "$@" "$shears" prune "$model" --method "$method" --sparsity 0.5 --calib-ids "$data/wikitext2-valid.smollm2-ids.i32" \
        --samples "$samples" --seqlen "$seqlen" --no-journal --type f32 --out "$out/$label-$method.gguf" >"$out/log" 2>&1 || {
        cat "$out/log" >&2
        exit 1
    }
    end=$(date +%s.%N)
    local prune
    prune=$(sed -n 's/.*linear sparsity [0-9.]* in \([0-9.]*\) s.*/\1/p' "$out/log" | tail -n 1)
    echo "$(awk -v a="$end" -v b="$start" 'BEGIN { print a - b }') $prune" >>"$out/$label-$method"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(basename "$model"), $samples x $seqlen windows, $rounds rounds"
printf '%-10s %-22s %10s %10s %9s\n' method run "wall s" "prune s" speed-up
for method in $methods; do
    for _ in $(seq "$rounds"); do
        run single "$method" env OPENBLAS_NUM_THREADS=1
        run ranks "$method" "${mpi[@]}"
        run threads "$method" env OPENBLAS_NUM_THREADS=2
    done
    base=$(cut -d' ' -f2 "$out/single-$method" | median)
    for label in single ranks threads; do
        wall=$(cut -d' ' -f1 "$out/$label-$method" | median)
        prune=$(cut -d' ' -f2 "$out/$label-$method" | median)
        case $label in
        single) name="1 rank x 1 thread" ;;
        ranks) name="2 ranks x 1 thread" ;;
        threads) name="1 rank x 2 threads" ;;
        esac
        printf '%-10s %-22s %10.1f %10.1f %8.2fx\n' "$method" "$name" "$wall" "$prune" "$(awk -v a="$base" -v b="$prune" 'BEGIN { print a / b }')"
    done
    if [ "$method" = wanda ]; then
        cmp -s "$out/single-$method.gguf" "$out/ranks-$method.gguf" && same=yes || same=NO
        echo "wanda: 2-rank output has the single-process bytes: $same"
    fi
done
