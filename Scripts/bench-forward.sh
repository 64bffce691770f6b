#!/usr/bin/env bash
# Forward-pass benchmark on the default model (release build): prefill tokens/s on 2048-token
# chunks, the BLAS sgemm rate measured in the same process, the forward's FLOP rate as a fraction
# of it, time per phase, and the peak RSS of `shears eval` at seqlen 2048.
# Usage: Scripts/bench-forward.sh [MODEL] [TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product shears >&2
shears=.build/release/shears
model="${1:-$(Scripts/fetch-model.sh | tail -n 1)}"
text="${2:-../shared/data/wikitext2-test.txt}"
text_args=()
[ -f "$text" ] && text_args=(--text "$text")

echo "== shears bench (seqlen 2048, median of 5 runs)"
"$shears" bench "$model" "${text_args[@]}" --seqlen 2048 --runs 5
echo
echo "== shears eval, 4 chunks of 2048 (peak RSS)"
"$shears" eval "$model" "${text_args[@]}" --seqlen 2048 --chunks 4 --json \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(f"ppl {r[\"ppl\"]:.4f}  {r[\"seconds\"]:.2f} s  {r[\"tokens_per_second\"]:.0f} tokens/s  peak RSS {r[\"peak_rss_bytes\"]/1e6:.0f} MB")'
