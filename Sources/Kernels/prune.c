/* Run-time dispatch of the pruning kernels to the widest ISA this CPU supports.
 * The three variants are compiled from prune_body.h by prune_avx512.c, prune_avx2.c and
 * prune_baseline.c; each variant function carries its ISA's suffix. */
#include "kernels_cpu.h"
#include "kernels_prune.h"
#include "prune_variants.h"

/* The CPU's widest ISA, chosen at the first call (-1: not yet chosen). */
static _Atomic int cpu_isa = -1;
/* A narrower ISA the calling thread asked for (tests of every variant), or -1: per thread, so a
 * test narrowing it never changes what kernels running on other threads compute. */
static _Thread_local int thread_isa = -1;

static shears_isa prune_isa(void) {
    if (thread_isa >= 0) return (shears_isa)thread_isa;
    int isa = cpu_isa;
    if (isa < 0) {
        isa = (int)shears_cpu_isa();
        cpu_isa = isa;
    }
    return (shears_isa)isa;
}

int shears_prune_select_thread_isa(shears_isa isa) {
    if (isa > shears_cpu_isa()) return 0;
    thread_isa = isa == shears_cpu_isa() ? -1 : (int)isa;
    return 1;
}

shears_isa shears_prune_isa(void) { return prune_isa(); }

#define PRUNE_DISPATCH(name, ...)                                   \
    switch (prune_isa()) {                                          \
    case SHEARS_ISA_AVX512: return name##_avx512(__VA_ARGS__);      \
    case SHEARS_ISA_AVX2: return name##_avx2(__VA_ARGS__);          \
    default: return name##_baseline(__VA_ARGS__);                   \
    }

void shears_prune_column_moments(const float *x, size_t rows, size_t cols, size_t ld, float *sum, float *sumsq) {
    PRUNE_DISPATCH(shears_prune_column_moments, x, rows, cols, ld, sum, sumsq)
}

void shears_prune_abs_scores(const float *w, size_t rows, size_t cols, const float *scale, float *scores) {
    PRUNE_DISPATCH(shears_prune_abs_scores, w, rows, cols, scale, scores)
}

float shears_prune_kth_smallest(const float *x, size_t n, size_t k, float *scratch) {
    PRUNE_DISPATCH(shears_prune_kth_smallest, x, n, k, scratch)
}

size_t shears_prune_mask_at_most(const float *scores, size_t n, float tau, uint8_t *mask) {
    PRUNE_DISPATCH(shears_prune_mask_at_most, scores, n, tau, mask)
}

void shears_prune_select_rows(const float *scores, size_t rows, size_t cols, size_t k, uint8_t *mask,
                              float *scratch) {
    PRUNE_DISPATCH(shears_prune_select_rows, scores, rows, cols, k, mask, scratch)
}

void shears_prune_select_groups(const float *scores, size_t rows, size_t cols, size_t prune, size_t m,
                                uint8_t *mask) {
    PRUNE_DISPATCH(shears_prune_select_groups, scores, rows, cols, prune, m, mask)
}

size_t shears_prune_apply_mask(float *w, const uint8_t *mask, size_t n) {
    PRUNE_DISPATCH(shears_prune_apply_mask, w, mask, n)
}

size_t shears_prune_count_zeros(const float *w, size_t n) {
    PRUNE_DISPATCH(shears_prune_count_zeros, w, n)
}

void shears_sparsegpt_sweep(float *wb, size_t rows, size_t cols, size_t ldw, const float *u, size_t ldu,
                            uint8_t *mask, size_t ldm, size_t prune, size_t m, float *err, size_t lde) {
    PRUNE_DISPATCH(shears_sparsegpt_sweep, wb, rows, cols, ldw, u, ldu, mask, ldm, prune, m, err, lde)
}
