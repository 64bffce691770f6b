#!/usr/bin/env bash
# Installs what Shears needs to build and test on Debian 12: Lua 5.4, OpenBLAS, pkg-config
# (apt), and with --test Open MPI (the build then includes `mpirun -np N shears prune`, which the
# MPI tests run), Chromium (the HTML report test), the PyPI packages the cross-check
# tests use and the PyTorch reference environment (Scripts/install-refenv.sh: torch, transformers,
# sentencepiece; ~3 GB) that the gradient, architecture and tokenizer cross-checks run in.
# Skips what is already installed.
set -euo pipefail

apt_packages=(liblua5.4-dev libopenblas-dev pkgconf)
# The HTML report test opens the page in headless Chromium.
# The reference environment is a venv.
# The MPI tests launch two ranks with Open MPI's mpirun.
if [ "${1:-}" = "--test" ]; then apt_packages+=(chromium python3-venv libopenmpi-dev openmpi-bin); fi
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >&2
fi

if [ "${1:-}" = "--test" ]; then
    python_packages=(gguf safetensors tokenizers)
    for package in "${python_packages[@]}"; do
        python3 -c "import $package" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check "$package" >&2
    done
    "$(dirname "$0")/install-refenv.sh" >&2
fi
