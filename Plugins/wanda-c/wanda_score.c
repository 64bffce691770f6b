/* Wanda's score |W_ij| · ‖X_j‖ (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large
 * Language Models"), computed with exactly the built-in's arithmetic: norms_j = sqrtf(scaler_row_j)
 * rounded to float, then |w| · norm_j in float. One multiply per score and no reduction, so the
 * result is bit-identical however the loop is vectorised. */
#include "wanda_score.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>

/* Writes a formatted message into the caller's buffer (truncated, always NUL-terminated). */
#define WANDA_FAIL(status, ...)                                                                    \
    do {                                                                                           \
        if (message && message_size > 0) snprintf(message, message_size, __VA_ARGS__);            \
        return (status);                                                                           \
    } while (0)

/* Contiguous fast path, the layout the host passes in production: one body compiled for three
 * ISAs (the kernel is a single multiply per element, so every variant gives the same bits). */
#define WANDA_CONTIGUOUS_BODY                                                                      \
    for (size_t r = 0; r < rows; r++) {                                                            \
        const float *restrict in = w + r * columns;                                                \
        float *restrict out = scores + r * columns;                                                \
        for (size_t j = 0; j < columns; j++) out[j] = __builtin_fabsf(in[j]) * norms[j];           \
    }

static void wanda_contiguous_baseline(const float *restrict w, size_t rows, size_t columns,
                                      const float *restrict norms, float *restrict scores) {
    WANDA_CONTIGUOUS_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void wanda_contiguous_avx2(const float *restrict w, size_t rows, size_t columns,
                                                                  const float *restrict norms, float *restrict scores) {
    WANDA_CONTIGUOUS_BODY
}

__attribute__((target("avx512f"))) static void wanda_contiguous_avx512(const float *restrict w, size_t rows,
                                                                       size_t columns, const float *restrict norms,
                                                                       float *restrict scores) {
    WANDA_CONTIGUOUS_BODY
}
#endif

static void wanda_contiguous(const float *restrict w, size_t rows, size_t columns, const float *restrict norms,
                             float *restrict scores) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        wanda_contiguous_avx512(w, rows, columns, norms, scores);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        wanda_contiguous_avx2(w, rows, columns, norms, scores);
        return;
    }
#endif
    wanda_contiguous_baseline(w, rows, columns, norms, scores);
}

/* Any positive strides. */
static void wanda_strided(const float *w, size_t rows, size_t columns, size_t row_stride,
                          size_t column_stride, const float *restrict norms, float *restrict scores) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = w + r * row_stride;
        float *restrict out = scores + r * columns;
        for (size_t j = 0; j < columns; j++) out[j] = __builtin_fabsf(in[j * column_stride]) * norms[j];
    }
}

shears_status wanda_score(const shears_host *host, const shears_score_input *input, float *scores,
                          char *message, size_t message_size) {
    const size_t needed = offsetof(shears_score_input, squared_norms) + sizeof(shears_tensor_view);
    if (!input || input->struct_size < needed)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "wanda: score input of %u bytes lacks the squared norms",
                   input ? input->struct_size : 0u);
    const char *name = input->tensor_name ? input->tensor_name : "(unnamed)";
    const shears_tensor_view *weight = &input->weight;
    const shears_tensor_view *squared = &input->squared_norms;
    if (weight->dtype != SHEARS_DTYPE_F32 || weight->rank != 2)
        WANDA_FAIL(SHEARS_STATUS_UNSUPPORTED, "wanda: %s: weight must be a rank-2 f32 view (dtype %d, rank %u)",
                   name, (int)weight->dtype, weight->rank);
    if (squared->data == NULL || squared->rank == 0)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "wanda: %s: squared norms are missing", name);
    if (squared->dtype != SHEARS_DTYPE_F32 || squared->rank != 1)
        WANDA_FAIL(SHEARS_STATUS_UNSUPPORTED, "wanda: %s: squared norms must be a rank-1 f32 view (dtype %d, rank %u)",
                   name, (int)squared->dtype, squared->rank);
    const int64_t rows = weight->shape[0], columns = weight->shape[1];
    if (rows < 0 || columns < 0 || squared->shape[0] != columns)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT,
                   "wanda: %s: weight [%lld, %lld] does not match %lld squared norms", name, (long long)rows,
                   (long long)columns, (long long)squared->shape[0]);
    if (rows == 0 || columns == 0) return SHEARS_STATUS_OK;
    if ((uint64_t)rows > SIZE_MAX / sizeof(float) / (uint64_t)columns)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "wanda: %s: weight [%lld, %lld] is too large", name,
                   (long long)rows, (long long)columns);
    if (weight->strides[0] <= 0 || weight->strides[1] <= 0 || squared->strides[0] <= 0)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "wanda: %s: strides must be positive", name);
    if (weight->data == NULL || scores == NULL)
        WANDA_FAIL(SHEARS_STATUS_INVALID_ARGUMENT, "wanda: %s: weight or score buffer is NULL", name);

    float *norms = host->alloc(host, (size_t)columns * sizeof(float), alignof(max_align_t));
    if (!norms) WANDA_FAIL(SHEARS_STATUS_OUT_OF_MEMORY, "wanda: %s: no memory for %lld norms", name, (long long)columns);
    const float *scaler = squared->data;
    const size_t scaler_stride = (size_t)squared->strides[0];
    for (size_t j = 0; j < (size_t)columns; j++) norms[j] = __builtin_sqrtf(scaler[j * scaler_stride]);

    const float *w = weight->data;
    if (weight->strides[1] == 1 && weight->strides[0] == columns)
        wanda_contiguous(w, (size_t)rows, (size_t)columns, norms, scores);
    else
        wanda_strided(w, (size_t)rows, (size_t)columns, (size_t)weight->strides[0], (size_t)weight->strides[1],
                      norms, scores);
    host->free(host, norms);
    return SHEARS_STATUS_OK;
}
