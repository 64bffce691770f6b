#include "kernels_cpu.h"

shears_isa shears_cpu_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return SHEARS_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return SHEARS_ISA_AVX2;
#endif
    return SHEARS_ISA_BASELINE;
}

const char *shears_isa_name(shears_isa isa) {
    switch (isa) {
    case SHEARS_ISA_AVX512: return "avx512";
    case SHEARS_ISA_AVX2: return "avx2";
    default: return "baseline";
    }
}
