/* Kernels of the LLaMA forward pass (RMSNorm, RoPE, softmax, SwiGLU, loss). */
#ifndef SHEARS_KERNELS_FORWARD_H
#define SHEARS_KERNELS_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include "kernels_cpu.h"

/** The ISA the forward kernels dispatch to on the calling thread (the CPU's widest unless the thread narrowed it). */
shears_isa shears_forward_isa(void);

/** Makes the forward kernels called from the calling thread use `isa` (for tests of every
 *  variant; other threads keep the CPU's widest); the CPU's own ISA restores the default. Returns 0
 *  and changes nothing if the CPU lacks `isa`. */
int shears_forward_select_thread_isa(shears_isa isa);

/** y[i] = exp(x[i]) for n elements (vectorised; about 1 ulp; 0 below -87, clamped above 88). */
void shears_exp(const float *x, float *y, size_t n);

/** Sum of n floats (16-lane blocked order, identical on every ISA). */
float shears_sum(const float *x, size_t n);

/** Row-wise RMSNorm: y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, rows of n contiguous floats.
 *  y may alias x. */
void shears_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t n, float eps);

/** Rotary embedding in llama.cpp's "normal" mode: for each of `rows` rows (stride `row_stride`)
 *  holding `heads` heads of `head_dim` floats, rotates the adjacent pairs (x[2i], x[2i+1]) of every
 *  head by the angle of row r: cos/sin tables hold head_dim/2 entries per position and row r uses
 *  the entries of position first_position + r. */
void shears_rope(float *x, size_t rows, size_t row_stride, size_t heads, size_t head_dim,
                 const float *cos_table, const float *sin_table, size_t first_position);

/** Causal softmax over a block of attention scores, in place: row r (stride ld) belongs to
 *  position r / group of the block (group > 0 query heads sharing one key head are stacked) and
 *  covers its first (first_length + r / group) entries; the rest, up to `width`, is zeroed.
 *  With inverse_sums NULL the rows are normalised; otherwise they are left as exp(x - max) and
 *  inverse_sums[r] receives the factor that normalises row r (to apply to a product instead). */
void shears_softmax_causal(float *scores, size_t rows, size_t ld, size_t first_length, size_t width,
                           size_t group, float *inverse_sums);

/** gate[i] = silu(gate[i]) * up[i] for n elements (silu(x) = x / (1 + exp(-x))). */
void shears_silu_mul(float *gate, const float *up, size_t n);

/** y[i] += x[i] for n elements. */
void shears_add(float *y, const float *x, size_t n);

/** Cross-entropy of a block of logits: for each of `rows` rows (stride ld, n entries),
 *  nll[r] = logsumexp(row) - row[targets[r]]. Targets must lie in [0, n). */
void shears_cross_entropy(const float *logits, size_t rows, size_t ld, size_t n,
                          const int32_t *targets, float *nll);

#endif
