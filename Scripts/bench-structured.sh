#!/usr/bin/env bash
# The real-speed table of structured pruning: prunes the default model with each width method
# (FLAP, LLM-Pruner, Minitron FFN-only, channels by Wanda-sp, SCOP's local estimator with Gaussian
# knockoffs, without and with bias compensation, SCOP's local estimator with unpaired knockoffs on
# FFN channels with ridge compensation and Wanda-sp channels with the same compensation, query heads
# by Minitron's score) and
# with block removal to 10/20/25/30% of its parameters (`--params`), writes each as an f16 GGUF,
# then measures perplexity (first 40 chunks of WikiText-2 test at 2048), parameters, file size,
# llama.cpp's speed (llama-bench pp512 and tg128, 2 threads, every file including the dense one in
# ONE invocation) and `shears bench` (prefill tokens/s at 512, median of the runs). Prints a
# Markdown table, also written to table.md in the output directory (--dir).
#
# Usage: Scripts/bench-structured.sh [--levels "0.1 0.2 0.25 0.3"] [--only REGEX] [--round-to N]
#                                     [--samples N] [--seqlen N] [--short] [--reps N] [--chunks N]
#                                     [--no-speed] [--no-eval] [--dir DIR] [MODEL]
#   --levels    fractions of the parameters to remove (default 0.1 0.2 0.25 0.3)
#   --only      run only the configurations whose name (METHOD-LEVEL) matches
#   --round-to  kept FFN widths rounded to a multiple of N by the width methods (default 64; 1: off)
#   --samples, --seqlen  calibration windows from WikiText-2 validation, seed 0 (default 64 x 128;
#               block removal uses Shortened LLaMA's 10 x 128, seed 1234)
#   --short     also evaluate at 128 (the same tokens in 640 chunks; doubles evaluation time)
#   --reps      llama-bench repetitions (default 3)
#   --chunks    evaluation chunks of 2048 test ids (default 40)
#   --no-speed  skip llama-bench and shears bench (the table keeps the figures of an earlier run)
#   --no-eval   skip the perplexities not measured yet (the phases can run apart: prune and evaluate
#               while the machine is busy, measure speed with --no-eval when it is quiet)
#   --dir       where the pruned files, logs and measurements go (default out/bench-structured; a
#               separate directory keeps runs with another protocol, e.g. --chunks, apart)
# Pruned files stay in the directory (a re-run reuses them and their perplexities; delete
# one to redo it), with each prune's log. Needs ../shared/data beside the checkout and the llama.cpp tools (see
# Scripts/lib/llamacpp.sh). The machine's load average is printed with the table: the speed
# ratios are within one llama-bench run, but other processes on the machine lower every figure.
set -euo pipefail
cd "$(dirname "$0")/.."

levels="0.1 0.2 0.25 0.3" only="" round_to=64 samples=64 seqlen=128 short=0 reps=3 chunks=40 speed=1 evaluate=1
dir=out/bench-structured
model_arg=""
while [ $# -gt 0 ]; do
    case "$1" in
        --levels) levels="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --round-to) round_to="$2"; shift 2 ;;
        --samples) samples="$2"; shift 2 ;;
        --seqlen) seqlen="$2"; shift 2 ;;
        --short) short=1; shift ;;
        --reps) reps="$2"; shift 2 ;;
        --chunks) chunks="$2"; shift 2 ;;
        --no-speed) speed=0; shift ;;
        --no-eval) evaluate=0; shift ;;
        --dir) dir="$2"; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        -*) echo "bench-structured: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) model_arg="$1"; shift ;;
    esac
done

say() { echo "bench-structured: $*" >&2; }
source Scripts/lib/bench.sh
source Scripts/lib/llamacpp.sh
bench_setup bench-structured "$model_arg"
llamacpp_setup llama-bench
trap 'rm -rf "$out" "$work"' EXIT  # both set-ups' temporary directories
mkdir -p "$dir"
calib=(--calib-ids "$data/wikitext2-valid.smollm2-ids.i32")
windows=(--samples "$samples" --seqlen "$seqlen" --seed 0)

# name|arguments of `shears prune` (LEVEL is replaced by the fraction)
rounding=()
[ "$round_to" != 1 ] && rounding=(--param "round_to=$round_to")
methods=(
    "flap|--method flap --params LEVEL ${rounding[*]}"
    "llm_pruner|--method llm_pruner --params LEVEL ${rounding[*]}"
    "minitron_ffn|--method minitron --params LEVEL --param hidden=false ${rounding[*]}"
    "channels_wanda_sp|--method channels --params LEVEL --param criterion=wanda_sp ${rounding[*]}"
    "blocks_ppl|--method blocks --params LEVEL --param criterion=ppl --samples 10 --seqlen 128 --seed 1234"
    "scop_local|--method scop --params LEVEL --param estimate=local --param knockoffs=gaussian"
    "scop_local_bias|--method scop --params LEVEL --param estimate=local --param knockoffs=gaussian --param compensation=bias"
    "scop_local_ridge|--method scop --params LEVEL --param units=channels --param estimate=local --param knockoffs=unpaired --param compensation=ridge ${rounding[*]}"
    "channels_wanda_sp_ridge|--method channels --params LEVEL --param criterion=wanda_sp --param compensation=ridge ${rounding[*]}"
)

[ -f "$dir/dense.gguf" ] || "$shears" convert "$model" --type f16 --out "$dir/dense.gguf" >/dev/null
files=("$dir/dense.gguf")
for level in $levels; do
    for entry in "${methods[@]}"; do
        name="${entry%%|*}-$level"
        [ -n "$only" ] && ! [[ "$name" =~ $only ]] && continue
        if [ ! -f "$dir/$name.gguf" ]; then
            say "pruning $name"
            arguments="${entry#*|}"
            [[ "$arguments" == *--samples* ]] || arguments="$arguments ${windows[*]}"
            # shellcheck disable=SC2086  # the arguments are words
            if ! "$shears" prune "$model" ${arguments//LEVEL/$level} "${calib[@]}" --type f16 \
                --out "$dir/$name.gguf" --no-journal >"$dir/$name.log" 2>&1; then
                say "$name failed (see $dir/$name.log): $(tail -n 1 "$dir/$name.log")"
                continue
            fi
        fi
        files+=("$dir/$name.gguf")
    done
done
# Query heads alone reach only ~10% of the parameters (a third of SmolLM2's heads is ~4.9%).
for ratio in 0.34 0.67; do
    name="heads_minitron-r$ratio"
    [ -n "$only" ] && ! [[ "$name" =~ $only ]] && continue
    [ -f "$dir/$name.gguf" ] || "$shears" prune "$model" --method heads --param "ratio=$ratio" \
        --param criterion=minitron "${calib[@]}" "${windows[@]}" --type f16 --out "$dir/$name.gguf" --no-journal \
        >"$dir/$name.log" 2>&1 || { say "$name failed: $(tail -n 1 "$dir/$name.log")"; continue; }
    files+=("$dir/$name.gguf")
done

if [ "$speed" = 1 ]; then
    say "llama-bench: ${#files[@]} files, pp512 and tg128, 2 threads, $reps repetitions"
    load_before="$(cut -d ' ' -f 1-3 /proc/loadavg)"
    models=()
    for file in "${files[@]}"; do models+=(-m "$file"); done
    "$bin/llama-bench" "${models[@]}" -p 512 -n 128 -t 2 -r "$reps" -o json >"$dir/llama-bench.json.tmp" \
        2>"$dir/llama-bench.log"
    mv "$dir/llama-bench.json.tmp" "$dir/llama-bench.json"
    load_after="$(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo "$load_before|$load_after" >"$dir/llama-bench.load"

    say "shears bench of ${#files[@]} files"
    for file in "${files[@]}"; do
        "$shears" bench "$file" --seqlen 512 --runs 3 --json >"${file%.gguf}.bench.json"
    done
fi
for file in "${files[@]}"; do
    base="${file%.gguf}"
    "$shears" inspect "$file" --json >"$base.inspect.json"
    [ "$evaluate" = 1 ] || continue
    if [ ! -f "$base.eval.json" ]; then
        say "perplexity of $(basename "$file")"
        "$shears" eval "$file" --ids "$data/wikitext2-test.smollm2-ids.i32" --seqlen 2048 --chunks "$chunks" --json \
            >"$base.eval.json.tmp"
        mv "$base.eval.json.tmp" "$base.eval.json"
    fi
    if [ "$short" = 1 ] && [ ! -f "$base.eval128.json" ]; then
        "$shears" eval "$file" --ids "$data/wikitext2-test.smollm2-ids.i32" --seqlen 128 --chunks $((chunks * 16)) \
            --json >"$base.eval128.json.tmp"
        mv "$base.eval128.json.tmp" "$base.eval128.json"
    fi
done
load="$(cat "$dir/llama-bench.load" 2>/dev/null || echo "?|?")"

python3 - "$dir" "${load%%|*}" "${load#*|}" "$reps" "${files[@]}" <<'PY' | tee "$dir/table.md"
import json, os, statistics, sys
directory, before, after, reps, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
bench_path = os.path.join(directory, "llama-bench.json")
bench = json.load(open(bench_path)) if os.path.exists(bench_path) else []
speed = {}
for row in bench:
    kind = "pp512" if row["n_prompt"] == 512 and row["n_gen"] == 0 else "tg128"
    speed[(os.path.basename(row["model_filename"]), kind)] = (row["avg_ts"], row["stddev_ts"])

def load(path):
    return json.load(open(path)) if os.path.exists(path) else None

dense = os.path.basename(files[0])
rows = []
for file in files:
    base, name = file[:-5], os.path.basename(file)
    ev, ev128, info, sb = load(base + ".eval.json"), load(base + ".eval128.json"), load(base + ".inspect.json"), load(
        base + ".bench.json")
    rows.append((name, ev, ev128, info, sb))
dense_params = rows[0][3]["parameters"]
dense_sb = rows[0][4]["tokens_per_second"] if rows[0][4] else None
print(f"llama-bench pp512/tg128, 2 threads, {reps} repetitions, every file in one run (t/s, mean; "
      f"× dense in the same run); load average {before} before, {after} after.\n")
header = "| model | ppl @2048 | " + ("ppl @128 | " if any(r[2] for r in rows) else "")
header += "parameters | removed | f16 GGUF | pp512 | × | tg128 | × | shears bench t/s | × |"
print(header)
print("|---" + "|---:" * (header.count("|") - 2) + "|")
for name, ev, ev128, info, sb in rows:
    pp, tg = speed.get((name, "pp512")), speed.get((name, "tg128"))
    dpp, dtg = speed.get((dense, "pp512")), speed.get((dense, "tg128"))
    pp, tg = (pp if dpp else None), (tg if dtg else None)
    cells = [name[:-5], f"{ev['ppl']:.2f}" if ev else "—"]
    if any(r[2] for r in rows):
        cells.append(f"{ev128['ppl']:.2f}" if ev128 else "—")
    params = info["parameters"]
    cells += [f"{params:,}", f"{100 * (1 - params / dense_params):.1f}%", f"{os.path.getsize(os.path.join(directory, name)) / 1e6:.1f} MB"]
    cells += [f"{pp[0]:.1f}" if pp else "—", f"{pp[0] / dpp[0]:.2f}×" if pp else "—"]
    cells += [f"{tg[0]:.2f}" if tg else "—", f"{tg[0] / dtg[0]:.2f}×" if tg else "—"]
    tps = sb["tokens_per_second"] if sb else None
    cells += [f"{tps:.0f}" if tps else "—", f"{tps / dense_sb:.2f}×" if tps and dense_sb else "—"]
    print("| " + " | ".join(cells) + " |")
PY
