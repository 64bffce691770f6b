/* Private: the per-ISA variants of the reverse-pass kernels (see backward.c for the dispatch). */
#ifndef SHEARS_BACKWARD_VARIANTS_H
#define SHEARS_BACKWARD_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#define SHEARS_DECLARE_BACKWARD_VARIANT(suffix)                                                       \
    void shears_swiglu_backward_##suffix(const float *gate, const float *up, float *gradient,         \
                                         float *up_gradient, size_t n);                               \
    void shears_rmsnorm_backward_##suffix(const float *x, const float *w, const float *dy, float *dx, \
                                          size_t rows, size_t n, float eps, float *inverse_rms);      \
    void shears_rmsnorm_weight_gradient_##suffix(const float *x, const float *dy,                     \
                                                 const float *inverse_rms, size_t rows, size_t n,     \
                                                 size_t first_column, size_t columns, float *dw);     \
    void shears_softmax_causal_backward_##suffix(const float *p, float *dp, size_t rows, size_t ld,   \
                                                 size_t first_length, size_t width, const float *out, \
                                                 const float *out_gradient, size_t stride, size_t d); \
    void shears_cross_entropy_gradient_##suffix(float *logits, size_t rows, size_t ld, size_t n,      \
                                                const int32_t *targets, float scale, float *nll);

SHEARS_DECLARE_BACKWARD_VARIANT(avx512)
SHEARS_DECLARE_BACKWARD_VARIANT(avx2)
SHEARS_DECLARE_BACKWARD_VARIANT(baseline)

#endif
