# Shared set-up of the benchmark scripts that prune the default model (source it from the checkout's
# root): bench_setup NAME [MODEL] builds the release binary and sets $shears, $model (MODEL, or the
# default model from Scripts/fetch-model.sh), $data (../shared/data, checked to hold the reference
# calibration ids) and $out, a temporary directory removed at exit. SHEARS_BIN=PATH measures that
# binary instead of building one (a copy keeps a long benchmark apart from builds in the checkout).

bench_setup() {
    if [ -n "${SHEARS_BIN:-}" ]; then
        [ -x "$SHEARS_BIN" ] || { echo "$1: SHEARS_BIN=$SHEARS_BIN is not an executable" >&2; exit 2; }
        shears="$SHEARS_BIN"
    else
        swift build -c release --product shears >&2
        shears=.build/release/shears
    fi
    model="${2:-$(Scripts/fetch-model.sh | tail -n 1)}"
    data=../shared/data
    if [ ! -f "$data/wikitext2-valid.smollm2-ids.i32" ]; then
        echo "$1: $data/wikitext2-valid.smollm2-ids.i32 not found (put shared/ beside the checkout)" >&2
        exit 2
    fi
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
}
