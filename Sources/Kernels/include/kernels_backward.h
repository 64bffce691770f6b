/* Kernels of the reverse pass (SwiGLU, RMSNorm, attention softmax, loss), dispatched like the
 * forward kernels (shears_forward_select_thread_isa narrows both). */
#ifndef SHEARS_KERNELS_BACKWARD_H
#define SHEARS_KERNELS_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

/** Backward of z = silu(g) * u over n elements: from dz (`gradient`, overwritten with dL/dg) and
 *  the forward's `gate` (g) and `up` (u), writes dL/du into `up_gradient`. */
void shears_swiglu_backward(const float *gate, const float *up, float *gradient, float *up_gradient, size_t n);

/** Backward of the row-wise RMSNorm y = x * r * w, r = 1 / sqrt(mean(x^2) + eps), for rows of n
 *  floats: adds dL/dx = r * (dy * w - x * r^2 * mean(dy * w * x)) to dx and, when inverse_rms is
 *  not NULL, writes each row's r there (for shears_rmsnorm_weight_gradient). */
void shears_rmsnorm_backward(const float *x, const float *w, const float *dy, float *dx, size_t rows, size_t n,
                             float eps, float *inverse_rms);

/** Adds dL/dw[i] = sum over rows of dy[r][i] * x[r][i] * inverse_rms[r] to dw[i] for the columns
 *  first_column ..< first_column + columns (rows of n floats); rows are summed in order. */
void shears_rmsnorm_weight_gradient(const float *x, const float *dy, const float *inverse_rms, size_t rows,
                                    size_t n, size_t first_column, size_t columns, float *dw);

/** Backward of a causal softmax block (rows of stride ld, row r covering its first
 *  first_length + r entries): dp[r][c] = p[r][c] * (dp[r][c] - delta_r) over those entries and 0
 *  after them up to `width`, with delta_r = dot(out_r, out_gradient_r) over d floats (the rows of
 *  the attention output and its gradient, stride `stride`). */
void shears_softmax_causal_backward(const float *p, float *dp, size_t rows, size_t ld, size_t first_length,
                                    size_t width, const float *out, const float *out_gradient, size_t stride,
                                    size_t d);

/** Cross-entropy and its gradient over a block of logits in one sweep: for each of `rows` rows
 *  (stride ld, n entries) writes nll[r] = logsumexp(row) - row[targets[r]] and replaces the row by
 *  scale * (softmax(row) - onehot(targets[r])). Targets must lie in [0, n). */
void shears_cross_entropy_gradient(float *logits, size_t rows, size_t ld, size_t n, const int32_t *targets,
                                   float scale, float *nll);

#endif
