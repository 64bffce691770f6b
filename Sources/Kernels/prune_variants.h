/* Private: the per-ISA variants of the pruning kernels (see prune.c for the dispatch). */
#ifndef SHEARS_PRUNE_VARIANTS_H
#define SHEARS_PRUNE_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#define SHEARS_DECLARE_PRUNE_VARIANT(suffix)                                                              \
    void shears_prune_column_moments_##suffix(const float *x, size_t rows, size_t cols, size_t ld,        \
                                              float *sum, float *sumsq);                                  \
    void shears_prune_abs_scores_##suffix(const float *w, size_t rows, size_t cols, const float *scale,   \
                                          float *scores);                                                 \
    float shears_prune_kth_smallest_##suffix(const float *x, size_t n, size_t k, float *scratch);         \
    size_t shears_prune_mask_at_most_##suffix(const float *scores, size_t n, float tau, uint8_t *mask);   \
    void shears_prune_select_rows_##suffix(const float *scores, size_t rows, size_t cols, size_t k,       \
                                           uint8_t *mask, float *scratch);                                \
    void shears_prune_select_groups_##suffix(const float *scores, size_t rows, size_t cols, size_t prune, \
                                             size_t m, uint8_t *mask);                                    \
    size_t shears_prune_apply_mask_##suffix(float *w, const uint8_t *mask, size_t n);                     \
    size_t shears_prune_count_zeros_##suffix(const float *w, size_t n);                                   \
    void shears_sparsegpt_sweep_##suffix(float *wb, size_t rows, size_t cols, size_t ldw, const float *u, \
                                         size_t ldu, uint8_t *mask, size_t ldm, size_t prune, size_t m,   \
                                         float *err, size_t lde);

SHEARS_DECLARE_PRUNE_VARIANT(avx512)
SHEARS_DECLARE_PRUNE_VARIANT(avx2)
SHEARS_DECLARE_PRUNE_VARIANT(baseline)

#endif
