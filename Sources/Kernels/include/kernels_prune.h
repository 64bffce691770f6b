/* Kernels of the pruning engine: statistics, scores, selection, masks, the SparseGPT sweep. */
#ifndef SHEARS_KERNELS_PRUNE_H
#define SHEARS_KERNELS_PRUNE_H

#include <stddef.h>
#include <stdint.h>
#include "kernels_cpu.h"

/** The ISA the pruning kernels dispatch to on the calling thread (the CPU's widest unless the thread narrowed it). */
shears_isa shears_prune_isa(void);

/** Makes the pruning kernels called from the calling thread use `isa` (for tests of every
 *  variant; other threads keep the CPU's widest); the CPU's own ISA restores the default. Returns 0
 *  and changes nothing if the CPU lacks `isa`. */
int shears_prune_select_thread_isa(shears_isa isa);

/** Per-column sums over `rows` rows of `cols` floats (row stride ld): sum[j] = sum_r x[r,j] and
 *  sumsq[j] = sum_r x[r,j]^2, accumulated in float in row order (either output may be NULL). */
void shears_prune_column_moments(const float *x, size_t rows, size_t cols, size_t ld, float *sum, float *sumsq);

/** scores[r,j] = |w[r,j]| * scale[j] (scale NULL: |w|), `rows x cols` row-major. */
void shears_prune_abs_scores(const float *w, size_t rows, size_t cols, const float *scale, float *scores);

/** The k-th smallest (0-based, k < n) of n floats; `scratch` holds n floats. NaN-free input. */
float shears_prune_kth_smallest(const float *x, size_t n, size_t k, float *scratch);

/** mask[i] = 1 where scores[i] <= tau (others untouched); returns how many were set. */
size_t shears_prune_mask_at_most(const float *scores, size_t n, float tau, uint8_t *mask);

/** Per row of `cols` scores, marks (mask = 1) exactly the k smallest, ties going to the lower
 *  column (a stable ascending sort's first k); other entries of the row get 0. `scratch` holds
 *  `cols` floats. */
void shears_prune_select_rows(const float *scores, size_t rows, size_t cols, size_t k, uint8_t *mask,
                              float *scratch);

/** N:M along each row: in every aligned group of m scores (cols % m == 0) marks the `prune` smallest
 *  (ties to the lower column); other entries get 0. */
void shears_prune_select_groups(const float *scores, size_t rows, size_t cols, size_t prune, size_t m,
                                uint8_t *mask);

/** N:M as `shears_prune_select_groups`, but equal scores resolve as in the reference code's
 *  `torch.topk(group, prune, largest=False)` on CPU: the `prune` entries that libstdc++'s
 *  `std::nth_element` (value-only comparison, NaN largest) leaves in front of each group of m
 *  (m <= 64), or its heap selection when prune * 64 <= m. Plain scalar code, no ISA variants. */
void shears_prune_select_groups_topk(const float *scores, size_t rows, size_t cols, size_t prune, size_t m,
                                     uint8_t *mask);

/** w[i] = 0 where mask[i] != 0; returns the number of zeros in w afterwards. */
size_t shears_prune_apply_mask(float *w, const uint8_t *mask, size_t n);

/** Number of exact zeros among n floats. */
size_t shears_prune_count_zeros(const float *w, size_t n);

/** The SparseGPT column sweep inside one block of `cols` columns, row by row (rows are
 *  independent): for c = 0..cols-1, with d = u[c,c], w = wb[r,c]: q = 0 if the weight is pruned,
 *  else w; e = (w - q) / d; wb[r,c] = q; wb[r,c+1..] -= e * u[c,c+1..]; err[r,c] = e.
 *  Pruned means mask[r,c] != 0 when `prune` is 0; when `prune` > 0 the mask is chosen lazily: at
 *  every c % m == 0, the `prune` smallest (m <= 64) of wb[r,c..c+m-1]^2 / u[j,j]^2 (ties to the lower
 *  column) are pruned and written to mask. Strides ldw, ldu, ldm, lde in elements. */
void shears_sparsegpt_sweep(float *wb, size_t rows, size_t cols, size_t ldw, const float *u, size_t ldu,
                            uint8_t *mask, size_t ldm, size_t prune, size_t m, float *err, size_t lde);

/** The values of one RIA linear-sum-assignment round: values[g*groups + r] =
 *  sum over i < rows of max(candidates[r*rows + i], thresholds[g*rows + i]) (both `groups x rows`,
 *  row-major; summed in float lanes, then in double). */
void shears_ria_assignment_values(const float *thresholds, const float *candidates, size_t groups, size_t rows,
                                  double *values);

#endif
