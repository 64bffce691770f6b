#!/usr/bin/env bash
# The PyTorch reference environment of the gradient cross-check and the SentencePiece tokenizer
# checks: a venv with CPU torch and transformers (plus safetensors, numpy, sentencepiece and protobuf) from
# PyPI, at ${SHEARS_CACHE:-~/.cache/shears}/refenv.
#
# Usage: Scripts/install-refenv.sh            create it unless it already imports everything
#        Scripts/install-refenv.sh --cached   only report whether it exists (exit 0) or not (exit 1)
#
# The tests that use it (TorchGradientCrossCheck, SentencePieceReferenceTests) run only when its
# python exists; an environment made before sentencepiece was added, or with another sentencepiece,
# gets sentencepiece 0.2.3 (and protobuf) installed. The version is pinned: Shears' Unigram
# encoder follows 0.2.3's (its Float path scores are rebased past ±100,000), and the fixtures of
# Scripts/spm_fixtures.py are made by it.
set -euo pipefail
spm_version=0.2.3
env_dir="${SHEARS_CACHE:-$HOME/.cache/shears}/refenv"
python="$env_dir/bin/python"
imports="import torch, transformers, safetensors, numpy, sentencepiece, google.protobuf
assert sentencepiece.__version__ == '$spm_version', 'sentencepiece ' + sentencepiece.__version__"

if [[ "${1:-}" == "--cached" ]]; then
    if [[ -x "$python" ]] && "$python" -c "$imports" 2>/dev/null; then
        echo "refenv: $env_dir ($("$python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
        exit 0
    fi
    echo "refenv: none at $env_dir" >&2
    exit 1
fi
if [[ -x "$python" ]] && "$python" -c "$imports" 2>/dev/null; then
    echo "refenv: already present at $env_dir"
    exit 0
fi
if [[ -x "$python" ]] && "$python" -c "import torch, transformers, safetensors, numpy" 2>/dev/null; then
    "$python" -m pip install "sentencepiece==$spm_version" protobuf
    "$python" -c "$imports"
    echo "refenv: sentencepiece $spm_version installed in $env_dir"
    exit 0
fi
python3 -m venv "$env_dir"
"$python" -m pip install --upgrade pip
"$python" -m pip install --index-url https://download.pytorch.org/whl/cpu torch \
    || "$python" -m pip install torch
"$python" -m pip install transformers safetensors numpy "sentencepiece==$spm_version" protobuf
"$python" -c "$imports"
echo "refenv: installed at $env_dir"
