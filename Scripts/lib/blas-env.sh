# Sourced by the scripts: selects OpenBLAS's fastest kernel for this CPU.
#
# Debian's OpenBLAS 0.3.21 misdetects some AVX-512 CPUs (falling back to a slow kernel), and some
# environments pin OPENBLAS_CORETYPE to an AVX2 kernel. The `shears` binary corrects this itself
# at start-up; this file does the same for processes that link OpenBLAS directly (the tests).
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo \
    && grep -qw avx512dq /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SKYLAKEX
elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=HASWELL
fi
