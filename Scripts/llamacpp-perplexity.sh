#!/usr/bin/env bash
# Runs stock llama.cpp's llama-perplexity on MODEL.gguf over TEXT.txt with 2 threads and prints its
# final estimate as a plain number on the last line of stdout. CTX (default 512) is the context per
# chunk, CHUNKS (default 8) the number of chunks; the tools come from Scripts/install-llamacpp.sh
# (built on first use) unless LLAMACPP_BIN names a directory that holds llama-perplexity.
# Note llama-perplexity's protocol: it tokenizes the whole text (adding BOS only if the model's
# tokenizer asks for it), cuts it into chunks of CTX ids, and scores only the second half of each
# chunk (predictions of ids CTX/2+1 .. CTX-1), so it needs at least 2*CTX ids of text.
# Like Shears (and the Python reference pipelines, which read text mode), CRLF line ends are read as
# LF: a copy of TEXT with CRLF turned into LF is what llama-perplexity reads, since it tokenizes raw
# bytes (the shared WikiText-2 files have CRLF line ends). LLAMACPP_KEEP_CRLF=1 passes TEXT as is.
# The full llama-perplexity log is kept in $LLAMACPP_LOG when that is set.
set -euo pipefail

say() { echo "llamacpp-perplexity: $*" >&2; }

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    say "usage: $0 MODEL.gguf TEXT.txt [CTX] [CHUNKS]"
    exit 2
fi
model="$1"
text="$2"
ctx="${3:-512}"
chunks="${4:-8}"
[ -f "$model" ] || { say "no model file $model"; exit 2; }
[ -f "$text" ] || { say "no text file $text"; exit 2; }
[[ "$ctx" =~ ^[0-9]+$ ]] && [ "$ctx" -ge 2 ] || { say "CTX must be a positive integer, got '$ctx'"; exit 2; }
[[ "$chunks" =~ ^[0-9]+$ ]] && [ "$chunks" -ge 1 ] || { say "CHUNKS must be a positive integer, got '$chunks'"; exit 2; }

source "$(dirname "$0")/lib/llamacpp.sh"
llamacpp_setup llama-perplexity
log="${LLAMACPP_LOG:-$work/perplexity.log}"
text="$(llamacpp_lf_text "$text")"

llamacpp_run "$log" "Final estimate: PPL" llama-perplexity -m "$model" -f "$text" -c "$ctx" --chunks "$chunks" -t 2 -tb 2

# llama-perplexity prints e.g. "Final estimate: PPL = 17.2034 +/- 0.51316".
ppl="$(sed -n 's/.*Final estimate: PPL = \([^ ]*\) +\/- .*/\1/p' "$log" | tail -n 1)"
if [ "$status" -ne 0 ] || [ -z "$ppl" ]; then
    tail -n 25 "$log" >&2
    if [ "$status" -ne 0 ]; then
        say "llama-perplexity failed (exit $status) on $model"
    else
        say "llama-perplexity printed no final estimate for $model"
    fi
    exit 1
fi
case "$ppl" in
    nan|-nan|inf|-inf) say "llama-perplexity gave a non-finite perplexity ($ppl) for $model"; exit 1 ;;
esac
echo "$ppl"
