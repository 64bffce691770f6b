/* Run-time dispatch of the reverse-pass kernels to the ISA the forward kernels use on this
 * thread (the CPU's widest unless a test narrowed it). The three variants are compiled from
 * backward_body.h alongside the forward's, by forward_avx512.c, forward_avx2.c and forward_baseline.c. */
#include "kernels_backward.h"
#include "kernels_forward.h"
#include "backward_variants.h"

#define SHEARS_DISPATCH(call_avx512, call_avx2, call_baseline) \
    switch (shears_forward_isa()) {                            \
    case SHEARS_ISA_AVX512: call_avx512; break;                \
    case SHEARS_ISA_AVX2: call_avx2; break;                    \
    default: call_baseline; break;                             \
    }

void shears_swiglu_backward(const float *gate, const float *up, float *gradient, float *up_gradient, size_t n) {
    SHEARS_DISPATCH(shears_swiglu_backward_avx512(gate, up, gradient, up_gradient, n),
                    shears_swiglu_backward_avx2(gate, up, gradient, up_gradient, n),
                    shears_swiglu_backward_baseline(gate, up, gradient, up_gradient, n))
}

void shears_rmsnorm_backward(const float *x, const float *w, const float *dy, float *dx, size_t rows, size_t n,
                             float eps, float *inverse_rms) {
    SHEARS_DISPATCH(shears_rmsnorm_backward_avx512(x, w, dy, dx, rows, n, eps, inverse_rms),
                    shears_rmsnorm_backward_avx2(x, w, dy, dx, rows, n, eps, inverse_rms),
                    shears_rmsnorm_backward_baseline(x, w, dy, dx, rows, n, eps, inverse_rms))
}

void shears_rmsnorm_weight_gradient(const float *x, const float *dy, const float *inverse_rms, size_t rows,
                                    size_t n, size_t first_column, size_t columns, float *dw) {
    SHEARS_DISPATCH(
        shears_rmsnorm_weight_gradient_avx512(x, dy, inverse_rms, rows, n, first_column, columns, dw),
        shears_rmsnorm_weight_gradient_avx2(x, dy, inverse_rms, rows, n, first_column, columns, dw),
        shears_rmsnorm_weight_gradient_baseline(x, dy, inverse_rms, rows, n, first_column, columns, dw))
}

void shears_softmax_causal_backward(const float *p, float *dp, size_t rows, size_t ld, size_t first_length,
                                    size_t width, const float *out, const float *out_gradient, size_t stride,
                                    size_t d) {
    SHEARS_DISPATCH(
        shears_softmax_causal_backward_avx512(p, dp, rows, ld, first_length, width, out, out_gradient, stride, d),
        shears_softmax_causal_backward_avx2(p, dp, rows, ld, first_length, width, out, out_gradient, stride, d),
        shears_softmax_causal_backward_baseline(p, dp, rows, ld, first_length, width, out, out_gradient, stride, d))
}

void shears_cross_entropy_gradient(float *logits, size_t rows, size_t ld, size_t n, const int32_t *targets,
                                   float scale, float *nll) {
    SHEARS_DISPATCH(shears_cross_entropy_gradient_avx512(logits, rows, ld, n, targets, scale, nll),
                    shears_cross_entropy_gradient_avx2(logits, rows, ld, n, targets, scale, nll),
                    shears_cross_entropy_gradient_baseline(logits, rows, ld, n, targets, scale, nll))
}
