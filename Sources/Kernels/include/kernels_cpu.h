/* CPU feature detection used for run-time kernel dispatch. */
#ifndef SHEARS_KERNELS_CPU_H
#define SHEARS_KERNELS_CPU_H

/** Instruction-set levels the kernels are compiled for, widest last. */
typedef enum shears_isa {
    SHEARS_ISA_BASELINE = 0, /**< SSE2 (x86-64 baseline) or the target's default. */
    SHEARS_ISA_AVX2 = 1,     /**< AVX2 + FMA. */
    SHEARS_ISA_AVX512 = 2    /**< AVX-512 F, BW, DQ and VL. */
} shears_isa;

/** The widest ISA this CPU supports (detected once, thread-safe). */
shears_isa shears_cpu_isa(void);

/** A short name for `isa`: "baseline", "avx2" or "avx512". */
const char *shears_isa_name(shears_isa isa);

#endif
