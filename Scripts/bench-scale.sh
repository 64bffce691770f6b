#!/usr/bin/env bash
# Scale benchmark (issue 17) on synthetic models (`shears synth`, release build), streamed
# (`--stream`): peak RSS and time of a prune of a 7B-shaped model with the calibration forwards'
# FLOP rate as a fraction of the sgemm rate measured in the same process (`prune --bench`), the
# pruned file in llama-perplexity when the llama.cpp tools are built, an evaluation's peak RSS,
# peak RSS against depth at one width, and SmolLM2's Wanda prune streamed and resident (same bytes).
# Peak RSS is /usr/bin/time's maximum resident set size (touched pages of mapped files included).
#
# Usage: Scripts/bench-scale.sh [SMOLLM2.gguf]   (needs ../shared/data beside the checkout)
# Environment:
#   SHAPE            the headline model's `shears synth` shape (llama-2-7b); SHAPE=none skips it
#   SHAPE_LAYERS     build it with this many layers instead of the shape's own (same width)
#   TYPE             stored type of the synthetic matrices (f16)
#   METHODS          methods pruned at 50% on the headline model ("wanda")
#   SAMPLES SEQLEN   calibration windows (8 512)
#   DEPTH_WIDTH      "HIDDEN FFN HEADS VOCAB" of the depth comparison ("1024 2816 16 32000"); none skips it
#   LAYERS           its depths ("12 48")
#   SMOLLM2=0        skip the SmolLM2 runs
# Disk: the headline model (13.5 GB for llama-2-7b in F16), its output, and a Float32 scratch copy
# of the pruned layers (27 GB) in the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

shape="${SHAPE:-llama-2-7b}" type="${TYPE:-f16}" methods="${METHODS:-wanda}"
samples="${SAMPLES:-8}" seqlen="${SEQLEN:-512}"
depth_width="${DEPTH_WIDTH:-1024 2816 16 32000}" layers="${LAYERS:-12 48}"

source Scripts/lib/bench.sh
bench_setup bench-scale "${1:-}"
calib="$data/wikitext2-valid.txt"
text="$data/wikitext2-test.txt"
tools="$(Scripts/install-llamacpp.sh --cached 2>/dev/null || true)"

# peak_mb CMD...: runs CMD with its output in $out/log, prints its peak RSS in MB.
peak_mb() {
    /usr/bin/time -f "%M %e" -o "$out/rss" "$@" >"$out/log" 2>&1 || {
        cat "$out/log" >&2
        echo "bench-scale: failed: $*" >&2
        exit 1
    }
    echo $(($(tail -n 1 "$out/rss" | cut -d' ' -f1) / 1024))
}
wall() { tail -n 1 "$out/rss" | cut -d' ' -f2; }
sgemm() { sed -n 's/^sgemm .*: \([0-9.]*\) GFLOP\/s.*/\1/p' "$out/log" | head -n 1; }
forward_ratio() { sed -n 's/.*forwards [0-9.]* s (\([0-9.]*\) GFLOP\/s, \([0-9]*\)% of sgemm).*/\2%/p' "$out/log" | head -n 1; }

echo "== $(nproc) cores, MemAvailable $(($(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024)) MB, load average $(cut -d' ' -f1-3 /proc/loadavg); calibration $samples x $seqlen"

if [ "$shape" != none ]; then
    model_file="$out/$shape.gguf"
    synth_args=(synth --shape "$shape" --type "$type" --seed 1 --out "$model_file")
    [ -n "${SHAPE_LAYERS:-}" ] && synth_args+=(--layers "$SHAPE_LAYERS")
    "$shears" "${synth_args[@]}" | tail -n 1
    echo
    echo "== $shape${SHAPE_LAYERS:+ ($SHAPE_LAYERS layers)}, $type, streamed"
    printf "%-10s %10s %14s %10s %12s %s\n" run "seconds" "peak RSS MB" "fwd/sgemm" "sgemm GF/s" "llama.cpp"
    for method in $methods; do
        pruned="$out/pruned-$method.gguf"
        mb=$(peak_mb "$shears" prune "$model_file" --method "$method" --sparsity 0.5 --samples "$samples" \
            --seqlen "$seqlen" --calib "$calib" --out "$pruned" --bench --stream --no-journal --scratch-dir "$out")
        loads="-"
        if [ -n "$tools" ]; then
            loads=$("$tools/llama-perplexity" -m "$pruned" -f "$text" -c 512 --chunks 1 -t "$(nproc)" 2>&1 |
                sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/loads, PPL \1 (1 x 512)/p')
            [ -n "$loads" ] || loads="FAILED to load"
        fi
        printf "%-10s %10s %14s %10s %12s %s\n" "$method" "$(wall)" "$mb" "$(forward_ratio)" "$(sgemm)" "$loads"
        rm -f "$pruned"
    done
    mb=$(peak_mb "$shears" eval "$model_file" --text "$text" --seqlen 512 --chunks 1 --stream)
    printf "%-10s %10s %14s\n" "eval 512" "$(wall)" "$mb"
    rm -f "$model_file"
fi

if [ "$depth_width" != none ]; then
    read -r hidden ffn heads vocab <<<"$depth_width"
    echo
    echo "== depth at hidden $hidden, FFN $ffn, $heads heads, vocab $vocab, $type: Wanda 50% and eval, streamed"
    printf "%-7s %10s %16s %14s\n" layers "file MB" "Wanda RSS MB" "eval RSS MB"
    for n in $layers; do
        model_file="$out/depth-$n.gguf"
        "$shears" synth --shape custom --layers "$n" --hidden "$hidden" --ffn "$ffn" --heads "$heads" \
            --kv-heads "$heads" --vocab "$vocab" --type "$type" --seed 1 --out "$model_file" >/dev/null
        prune_mb=$(peak_mb "$shears" prune "$model_file" --method wanda --sparsity 0.5 --samples "$samples" \
            --seqlen "$seqlen" --calib "$calib" --out "$out/depth.gguf" --stream --no-journal --scratch-dir "$out")
        eval_mb=$(peak_mb "$shears" eval "$model_file" --text "$text" --seqlen 512 --chunks 1 --stream)
        printf "%-7s %10s %16s %14s\n" "$n" "$(($(stat -c %s "$model_file") / 1000000))" "$prune_mb" "$eval_mb"
        rm -f "$model_file" "$out/depth.gguf"
    done
fi

if [ "${SMOLLM2:-1}" != 0 ]; then
    echo
    echo "== SmolLM2 ($model): Wanda 50%, calibration $samples x $seqlen"
    for residency in --no-stream --stream; do
        mb=$(peak_mb "$shears" prune "$model" --method wanda --sparsity 0.5 --samples "$samples" \
            --seqlen "$seqlen" --calib-ids "$data/wikitext2-valid.smollm2-ids.i32" --out "$out/smollm2$residency.gguf" \
            --bench "$residency")
        printf "%-12s peak RSS %5s MB, %s s, forwards %s of sgemm\n" "$residency" "$mb" "$(wall)" "$(forward_ratio)"
    done
    if cmp -s "$out/smollm2--no-stream.gguf" "$out/smollm2--stream.gguf"; then
        echo "streamed and resident outputs: identical bytes"
    else
        echo "streamed and resident outputs DIFFER" >&2
        exit 1
    fi
fi
