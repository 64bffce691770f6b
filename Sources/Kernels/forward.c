/* Run-time dispatch of the forward-pass kernels to the widest ISA this CPU supports.
 * The three variants are compiled from forward_body.h by forward_avx512.c, forward_avx2.c and
 * forward_baseline.c; each variant function carries its ISA's suffix. */
#include "kernels_cpu.h"
#include "kernels_forward.h"
#include "forward_variants.h"

/* The CPU's widest ISA, chosen at the first call (-1: not yet chosen). */
static _Atomic int cpu_isa = -1;
/* A narrower ISA the calling thread asked for (tests of every variant), or -1: per thread, so a
 * test narrowing it never changes what kernels running on other threads compute. */
static _Thread_local int thread_isa = -1;

static shears_isa forward_isa(void) {
    if (thread_isa >= 0) return (shears_isa)thread_isa;
    int isa = cpu_isa;
    if (isa < 0) {
        isa = (int)shears_cpu_isa();
        cpu_isa = isa;
    }
    return (shears_isa)isa;
}

int shears_forward_select_thread_isa(shears_isa isa) {
    if (isa > shears_cpu_isa()) return 0;
    thread_isa = isa == shears_cpu_isa() ? -1 : (int)isa;
    return 1;
}

shears_isa shears_forward_isa(void) { return forward_isa(); }

#define SHEARS_DISPATCH(call_avx512, call_avx2, call_baseline)          \
    switch (forward_isa()) {                                         \
    case SHEARS_ISA_AVX512: call_avx512; break;                         \
    case SHEARS_ISA_AVX2: call_avx2; break;                             \
    default: call_baseline; break;                                      \
    }

#define SHEARS_DISPATCH_RETURN(call_avx512, call_avx2, call_baseline)   \
    switch (forward_isa()) {                                         \
    case SHEARS_ISA_AVX512: return call_avx512;                         \
    case SHEARS_ISA_AVX2: return call_avx2;                             \
    default: return call_baseline;                                      \
    }

void shears_exp(const float *x, float *y, size_t n) {
    SHEARS_DISPATCH(shears_exp_avx512(x, y, n), shears_exp_avx2(x, y, n), shears_exp_baseline(x, y, n))
}

float shears_sum(const float *x, size_t n) {
    SHEARS_DISPATCH_RETURN(shears_sum_avx512(x, n), shears_sum_avx2(x, n), shears_sum_baseline(x, n))
}

void shears_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t n, float eps) {
    SHEARS_DISPATCH(shears_rmsnorm_avx512(x, w, y, rows, n, eps), shears_rmsnorm_avx2(x, w, y, rows, n, eps),
                    shears_rmsnorm_baseline(x, w, y, rows, n, eps))
}

void shears_rope(float *x, size_t rows, size_t row_stride, size_t heads, size_t head_dim,
                 const float *cos_table, const float *sin_table, size_t first_position) {
    SHEARS_DISPATCH(
        shears_rope_avx512(x, rows, row_stride, heads, head_dim, cos_table, sin_table, first_position),
        shears_rope_avx2(x, rows, row_stride, heads, head_dim, cos_table, sin_table, first_position),
        shears_rope_baseline(x, rows, row_stride, heads, head_dim, cos_table, sin_table, first_position))
}

void shears_softmax_causal(float *scores, size_t rows, size_t ld, size_t first_length, size_t width,
                           size_t group, float *inverse_sums) {
    SHEARS_DISPATCH(shears_softmax_causal_avx512(scores, rows, ld, first_length, width, group, inverse_sums),
                    shears_softmax_causal_avx2(scores, rows, ld, first_length, width, group, inverse_sums),
                    shears_softmax_causal_baseline(scores, rows, ld, first_length, width, group, inverse_sums))
}

void shears_silu_mul(float *gate, const float *up, size_t n) {
    SHEARS_DISPATCH(shears_silu_mul_avx512(gate, up, n), shears_silu_mul_avx2(gate, up, n),
                    shears_silu_mul_baseline(gate, up, n))
}

void shears_add(float *y, const float *x, size_t n) {
    SHEARS_DISPATCH(shears_add_avx512(y, x, n), shears_add_avx2(y, x, n), shears_add_baseline(y, x, n))
}

void shears_cross_entropy(const float *logits, size_t rows, size_t ld, size_t n,
                          const int32_t *targets, float *nll) {
    SHEARS_DISPATCH(shears_cross_entropy_avx512(logits, rows, ld, n, targets, nll),
                    shears_cross_entropy_avx2(logits, rows, ld, n, targets, nll),
                    shears_cross_entropy_baseline(logits, rows, ld, n, targets, nll))
}
