/* Private: the per-ISA variants of the forward kernels (see forward.c for the dispatch). */
#ifndef SHEARS_FORWARD_VARIANTS_H
#define SHEARS_FORWARD_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#define SHEARS_DECLARE_FORWARD_VARIANT(suffix)                                                        \
    void shears_exp_##suffix(const float *x, float *y, size_t n);                                     \
    float shears_sum_##suffix(const float *x, size_t n);                                              \
    void shears_rmsnorm_##suffix(const float *x, const float *w, float *y, size_t rows, size_t n,     \
                                 float eps);                                                          \
    void shears_rope_##suffix(float *x, size_t rows, size_t row_stride, size_t heads,                 \
                              size_t head_dim, const float *cos_table, const float *sin_table,        \
                              size_t first_position);                                                 \
    void shears_softmax_causal_##suffix(float *scores, size_t rows, size_t ld, size_t first_length,   \
                                        size_t width, size_t group, float *inverse_sums);             \
    void shears_silu_mul_##suffix(float *gate, const float *up, size_t n);                            \
    void shears_add_##suffix(float *y, const float *x, size_t n);                                     \
    void shears_cross_entropy_##suffix(const float *logits, size_t rows, size_t ld, size_t n,         \
                                       const int32_t *targets, float *nll);

SHEARS_DECLARE_FORWARD_VARIANT(avx512)
SHEARS_DECLARE_FORWARD_VARIANT(avx2)
SHEARS_DECLARE_FORWARD_VARIANT(baseline)

#endif
