#!/usr/bin/env bash
# Stock llama.cpp's KL-divergence protocol, for cross-checks with `shears eval --base`.
#   llamacpp-kld.sh base MODEL.gguf TEXT.txt CTX CHUNKS OUT.kld
#       writes MODEL's log-probabilities on the first CHUNKS windows of CTX tokens of TEXT to OUT.kld
#       (llama-perplexity --kl-divergence-base OUT.kld) and prints its perplexity on the last line.
#   llamacpp-kld.sh compare MODEL.gguf BASE.kld
#       compares MODEL with the base file (llama-perplexity --kl-divergence-base BASE.kld
#       --kl-divergence) and prints "KLD_MEAN SAME_TOP PPL PPL_BASE" (same top as a fraction) on the
#       last line.
# The tools come from Scripts/install-llamacpp.sh unless LLAMACPP_BIN names a directory holding
# llama-perplexity; 2 threads. As in llamacpp-perplexity.sh, CRLF line ends of TEXT are read as LF
# (Shears' default). The full log is kept in $LLAMACPP_LOG when that is set.
set -euo pipefail

say() { echo "llamacpp-kld: $*" >&2; }
usage() { say "usage: $0 base MODEL.gguf TEXT.txt CTX CHUNKS OUT.kld | compare MODEL.gguf BASE.kld"; exit 2; }

[ $# -ge 1 ] || usage
mode="$1"
shift
case "$mode" in
    base) [ $# -eq 5 ] || usage ;;
    compare) [ $# -eq 2 ] || usage ;;
    *) usage ;;
esac
model="$1"
[ -f "$model" ] || { say "no model file $model"; exit 2; }

source "$(dirname "$0")/lib/llamacpp.sh"
llamacpp_setup llama-perplexity
log="${LLAMACPP_LOG:-$work/kld.log}"
# llama.cpp logs from a background thread, which can lose the last lines at exit when the machine
# is busy (seen with several runs at once: exit 0, output files complete, no final estimate). Such
# a run is repeated, four times at most.
lost_log_tail() { [ "$1" -eq 0 ] && [ -z "$2" ] && [ "$attempt" -lt 5 ] && say "log cut short; running again"; }
if [ "$mode" = base ]; then
    text="$2" ctx="$3" chunks="$4" out="$5"
    [ -f "$text" ] || { say "no text file $text"; exit 2; }
    [[ "$ctx" =~ ^[0-9]+$ ]] && [ "$ctx" -ge 4 ] || { say "CTX must be an integer of at least 4, got '$ctx'"; exit 2; }
    [[ "$chunks" =~ ^[0-9]+$ ]] && [ "$chunks" -ge 1 ] || { say "CHUNKS must be a positive integer, got '$chunks'"; exit 2; }
    [ ! -e "$out" ] || { say "$out exists; refusing to overwrite it"; exit 2; }
    text="$(llamacpp_lf_text "$text")"
    for attempt in 1 2 3 4 5; do
        status=0
        "$bin/llama-perplexity" -m "$model" -f "$text" -c "$ctx" --chunks "$chunks" -t 2 -tb 2 \
            --kl-divergence-base "$out" </dev/null >"$log" 2>&1 || status=$?
        ppl="$(sed -n 's/.*Final estimate: PPL = \([^ ]*\) +\/- .*/\1/p' "$log" | tail -n 1)"
        if ! lost_log_tail "$status" "$ppl"; then break; fi
        rm -f "$out"
    done
    if [ "$status" -ne 0 ] || [ -z "$ppl" ] || [ ! -s "$out" ]; then
        tail -n 25 "$log" >&2
        say "llama-perplexity did not write $out (exit $status)"
        exit 1
    fi
    echo "$ppl"
else
    base="$2"
    [ -f "$base" ] || { say "no base file $base"; exit 2; }
    ctx="$(od -An -t d4 -j 8 -N 4 "$base" | tr -d ' ')"
    for attempt in 1 2 3 4 5; do
        status=0
        "$bin/llama-perplexity" -m "$model" -c "$ctx" -t 2 -tb 2 --kl-divergence-base "$base" --kl-divergence \
            </dev/null >"$log" 2>&1 || status=$?
        # e.g. "Mean    KLD:   0.123456 ±   0.001234", "Same top p: 85.123 ± 0.123 %",
        # "Mean PPL(Q)                   :  23.1 ±  0.2", "Mean PPL(base)                :  20.1 ±  0.2"
        kld="$(sed -n 's/^Mean    KLD: *\([^ ]*\) .*/\1/p' "$log" | tail -n 1)"
        top="$(sed -n 's/^Same top p: *\([^ ]*\) .*/\1/p' "$log" | tail -n 1)"
        ppl="$(sed -n 's/^Mean PPL(Q) *: *\([^ ]*\) .*/\1/p' "$log" | tail -n 1)"
        pplbase="$(sed -n 's/^Mean PPL(base) *: *\([^ ]*\) .*/\1/p' "$log" | tail -n 1)"
        if ! lost_log_tail "$status" "$pplbase"; then break; fi
    done
    if [ "$status" -ne 0 ] || [ -z "$kld" ] || [ -z "$top" ] || [ -z "$ppl" ] || [ -z "$pplbase" ]; then
        tail -n 25 "$log" >&2
        say "llama-perplexity printed no KL-divergence statistics for $model against $base (exit $status)"
        exit 1
    fi
    echo "$kld $(awk -v t="$top" 'BEGIN { printf "%.6f", t / 100 }') $ppl $pplbase"
fi
