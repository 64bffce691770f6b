# Shared set-up of the scripts that run stock llama.cpp tools (source it; `say` must be defined).
#   llamacpp_setup TOOL   sets $bin to the tools' directory (Scripts/install-llamacpp.sh builds them
#                         on first use, unless LLAMACPP_BIN names a directory) and checks that TOOL is
#                         there; makes $work, a temporary directory removed at exit.
#   llamacpp_lf_text TEXT prints a path to TEXT with CRLF line ends read as LF (Shears' default and
#                         the Python reference pipelines' text mode: the tools read raw bytes, and the
#                         shared WikiText-2 files have CRLF ends); LLAMACPP_KEEP_CRLF=1 keeps TEXT as is.

llamacpp_setup() {
    if [ -n "${LLAMACPP_BIN:-}" ]; then
        bin="$LLAMACPP_BIN"
    else
        bin="$("$(dirname "${BASH_SOURCE[0]}")/../install-llamacpp.sh" | tail -n 1)"
    fi
    [ -x "$bin/$1" ] || { say "no $1 in $bin"; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
}

llamacpp_lf_text() {
    if [ "${LLAMACPP_KEEP_CRLF:-0}" != 1 ] && grep -q $'\r' "$1"; then
        perl -pe 's/\r\n/\n/g' "$1" >"$work/text.txt"
        echo "$work/text.txt"
    else
        echo "$1"
    fi
}

llamacpp_run() {
    local log="$1" pattern="$2" tool="$3"
    shift 3
    local attempt
    for attempt in 1 2 3 4 5; do
        status=0
        "$bin/$tool" "$@" </dev/null >"$log" 2>&1 || status=$?
        if [ "$status" -ne 0 ] || grep -q -- "$pattern" "$log"; then
            return 0
        fi
        [ "$attempt" -lt 5 ] && say "$tool exited without its final lines (no '$pattern' in its log); running it again"
    done
    return 0
}
