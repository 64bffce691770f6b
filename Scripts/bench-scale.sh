#!/usr/bin/env bash
# Scale benchmark (issue 17) on synthetic models (`shears synth`, release build): peak RSS of a Wanda
# 50% prune and of `shears eval` (one chunk of 512) for a shallow and a deep model of the same width,
# the calibration forwards' FLOP rate as a fraction of the sgemm rate measured in the same process
# (`prune --bench`), and the peak RSS of a Wanda prune of SmolLM2. Peak RSS is /usr/bin/time's
# maximum resident set size (mmap'd file pages that were touched included).
#
# Usage: Scripts/bench-scale.sh [SMOLLM2.gguf]   (needs ../shared/data beside the checkout)
# Environment (defaults: the acceptance list's Llama-2-7B width, 12 and 48 layers, 8 x 512 windows):
#   HIDDEN FFN HEADS KV_HEADS VOCAB   the synthetic width (4096 11008 32 32 32000)
#   LAYERS                            depths to compare ("12 48")
#   TYPE                              stored type of the synthetic matrices (f16)
#   SAMPLES SEQLEN                    calibration windows (8 512)
#   SMOLLM2=0                         skip the SmolLM2 prune
# A run whose model would not fit in MemAvailable as Float32 (Shears today dequantizes the whole
# model at load) is skipped with the size it would need.
set -euo pipefail
cd "$(dirname "$0")/.."

hidden="${HIDDEN:-4096}" ffn="${FFN:-11008}" heads="${HEADS:-32}" kv_heads="${KV_HEADS:-${HEADS:-32}}"
vocab="${VOCAB:-32000}" layers="${LAYERS:-12 48}" type="${TYPE:-f16}"
samples="${SAMPLES:-8}" seqlen="${SEQLEN:-512}"

source Scripts/lib/bench.sh
bench_setup bench-scale "${1:-}"
calib="$data/wikitext2-valid.txt"
text="$data/wikitext2-test.txt"

# peak_mb CMD...: runs CMD with its output in $out/log, prints its peak RSS in MB.
peak_mb() {
    /usr/bin/time -f "%M" -o "$out/rss" "$@" >"$out/log" 2>&1 || {
        cat "$out/log" >&2
        echo "bench-scale: failed: $*" >&2
        exit 1
    }
    echo $(($(tail -n 1 "$out/rss") / 1024))
}

available_mb=$(($(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))
echo "== width: hidden $hidden, FFN $ffn, $heads heads ($kv_heads KV), vocab $vocab, $type; calibration $samples x $seqlen"
echo "   (MemAvailable $available_mb MB, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-7s %10s %12s %12s %14s %10s %14s\n" layers "file MB" "F32 MB" "prune s" "prune RSS MB" "fwd/sgemm" "eval RSS MB"
for n in $layers; do
    parameters=$((n * (2 * hidden * hidden + 2 * hidden * (hidden / heads) * kv_heads + 3 * hidden * ffn) + 2 * vocab * hidden))
    f32_mb=$((parameters * 4 / 1000000))
    if [ "$f32_mb" -gt $((available_mb * 9 / 10)) ]; then
        printf "%-7s skipped: %d MB of Float32 weights do not fit in %d MB available\n" "$n" "$f32_mb" "$available_mb"
        continue
    fi
    model_file="$out/synth-$n.gguf"
    "$shears" synth --shape custom --layers "$n" --hidden "$hidden" --ffn "$ffn" --heads "$heads" \
        --kv-heads "$kv_heads" --vocab "$vocab" --type "$type" --seed 1 --out "$model_file" >/dev/null
    file_mb=$(($(stat -c %s "$model_file") / 1000000))
    prune_mb=$(peak_mb "$shears" prune "$model_file" --method wanda --sparsity 0.5 --samples "$samples" \
        --seqlen "$seqlen" --calib "$calib" --out "$out/pruned-$n.gguf" --bench)
    sgemm=$(sed -n 's/^sgemm .*: \([0-9.]*\) GFLOP\/s.*/\1/p' "$out/log")
    ratio=$(sed -n 's/.*forwards [0-9.]* s (\([0-9.]*\) GFLOP\/s, \([0-9]*\)% of sgemm).*/\2%/p' "$out/log" | head -n 1)
    seconds=$(sed -n 's/^prune \([0-9.]*\) s:.*/\1/p' "$out/log")
    rm -f "$out/pruned-$n.gguf"
    eval_mb=$(peak_mb "$shears" eval "$model_file" --text "$text" --seqlen 512 --chunks 1)
    rm -f "$model_file"
    printf "%-7s %10s %12s %12s %14s %10s %14s   (sgemm %s GFLOP/s)\n" "$n" "$file_mb" "$f32_mb" "$seconds" \
        "$prune_mb" "$ratio" "$eval_mb" "$sgemm"
done

if [ "${SMOLLM2:-1}" != 0 ]; then
    echo
    echo "== SmolLM2 ($model): Wanda 50%, calibration $samples x $seqlen"
    smol_mb=$(peak_mb "$shears" prune "$model" --method wanda --sparsity 0.5 --samples "$samples" --seqlen "$seqlen" \
        --calib-ids "$data/wikitext2-valid.smollm2-ids.i32" --out "$out/smollm2.gguf" --bench)
    sed -n 's/^\(sgemm .*\)/\1/p; s/^\(prune [0-9.]* s: forwards [^)]*)\).*/\1/p' "$out/log"
    echo "peak RSS $smol_mb MB"
fi
