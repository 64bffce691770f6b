/* Optimal Brain Surgeon saliency without the weight update (Hassibi & Stork 1993): removing w_ij
 * alone and re-fitting the rest of row i optimally raises the layer's squared error by
 * w_ij² / (2 [H⁻¹]_jj), H = XᵀX the Gram matrix of the layer input. The constant ½ does not change
 * the order, so the score is w_ij² / [H⁻¹]_jj. H is prepared as SparseGPT's reference does
 * (github.com/IST-DASLab/sparsegpt, sparsegpt.py): a dead input channel (H_jj = 0) gets H_jj = 1 and
 * its weights score 0 (the reference zeroes them), then λ = damp · mean(diag H) is added to the
 * diagonal. Everything after reading H is in double; the score is rounded to float last. */
#include "obs_score.h"
#include "obs_inverse.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OBS_FAIL(status, ...)                                                                      \
    do {                                                                                           \
        if (message && message_size > 0) snprintf(message, message_size, __VA_ARGS__);            \
        return (status);                                                                           \
    } while (0)

/* Checks a view's type, rank and strides. */
static int obs_view_ok(const shears_tensor_view *view, uint32_t rank) {
    if (view->dtype != SHEARS_DTYPE_F32 || view->rank != rank || view->data == NULL) return 0;
    for (uint32_t d = 0; d < rank; d++)
        if (view->shape[d] < 0 || view->strides[d] <= 0) return 0;
    return 1;
}

/* Writes scores from diag((H + λI)⁻¹); `dead` marks channels whose weights score 0. */
static void obs_write_scores(const shears_tensor_view *weight, size_t rows, size_t columns, const double *inverse,
                             const unsigned char *dead, float *restrict scores) {
    const float *w = weight->data;
    const size_t s0 = (size_t)weight->strides[0], s1 = (size_t)weight->strides[1];
    for (size_t r = 0; r < rows; r++) {
        const float *in = w + r * s0;
        float *restrict out = scores + r * columns;
        for (size_t j = 0; j < columns; j++) {
            const double x = (double)in[j * s1];
            out[j] = dead[j] ? 0.0f : (float)(x * x / inverse[j]);
        }
    }
}

shears_status obs_score(const shears_host *host, double damp, const shears_score_input *input, float *scores,
                        char *message, size_t message_size) {
    const size_t needed = offsetof(shears_score_input, gram) + sizeof(shears_tensor_view);
    if (!input || input->struct_size < needed)
        OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "obs: score input of %u bytes lacks the Gram matrix",
                 input ? input->struct_size : 0u);
    const char *name = input->tensor_name ? input->tensor_name : "(unnamed)";
    const shears_tensor_view *weight = &input->weight, *gram = &input->gram;
    if (gram->rank == 0 || gram->data == NULL)
        OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "obs: %s: the Gram matrix is missing", name);
    if (!obs_view_ok(weight, 2) || !obs_view_ok(gram, 2))
        OBS_FAIL(SHEARS_STATUS_UNSUPPORTED, "obs: %s: weight and Gram matrix must be rank-2 f32 views with positive strides",
                 name);
    const int64_t rows = weight->shape[0], columns = weight->shape[1];
    if (gram->shape[0] != columns || gram->shape[1] != columns)
        OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "obs: %s: Gram matrix [%lld, %lld] does not match %lld input columns",
                 name, (long long)gram->shape[0], (long long)gram->shape[1], (long long)columns);
    if (rows == 0 || columns == 0) return SHEARS_STATUS_OK;
    if ((uint64_t)columns > SIZE_MAX / sizeof(double) / (uint64_t)columns ||
        (uint64_t)rows > SIZE_MAX / sizeof(float) / (uint64_t)columns)
        OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "obs: %s: weight [%lld, %lld] is too large", name, (long long)rows,
                 (long long)columns);
    if (!scores) OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "obs: %s: the score buffer is NULL", name);

    const size_t n = (size_t)columns;
    double *h = host->alloc(host, n * n * sizeof(double), 64);
    double *inverse = host->alloc(host, n * sizeof(double), 64);
    double *row = host->alloc(host, n * sizeof(double), 64);
    unsigned char *dead = host->alloc(host, n, 16);
    if (!h || !inverse || !row || !dead) {
        host->free(host, h);
        host->free(host, inverse);
        host->free(host, row);
        host->free(host, dead);
        OBS_FAIL(SHEARS_STATUS_OUT_OF_MEMORY, "obs: %s: no memory for a %zu x %zu double matrix", name, n, n);
    }

    /* Lower triangle of h from the valid upper triangle of the Gram view: h[j][i] = H[i][j], i ≤ j. */
    const float *g = gram->data;
    const size_t g0 = (size_t)gram->strides[0], g1 = (size_t)gram->strides[1];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) h[j * n + i] = (double)g[i * g0 + j * g1];
    double diagonal_sum = 0;
    for (size_t j = 0; j < n; j++) {
        dead[j] = h[j * n + j] == 0;
        if (dead[j]) h[j * n + j] = 1;
        diagonal_sum += h[j * n + j];
    }
    const double lambda = damp * diagonal_sum / (double)n;
    for (size_t j = 0; j < n; j++) h[j * n + j] += lambda;

    const size_t failed = obs_inverse_diagonal(h, n, inverse, row);
    if (failed == n) obs_write_scores(weight, (size_t)rows, n, inverse, dead, scores);
    host->free(host, h);
    host->free(host, inverse);
    host->free(host, row);
    host->free(host, dead);
    if (failed != n)
        OBS_FAIL(SHEARS_STATUS_INVALID_ARGUMENT,
                 "obs: %s: the damped Gram matrix is not positive definite (Cholesky pivot %zu); raise damp (now %g)",
                 name, failed, damp);
    return SHEARS_STATUS_OK;
}
