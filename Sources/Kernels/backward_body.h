/* Private: the bodies of the reverse-pass kernels, in plain C the compiler vectorises. Included
 * right after forward_body.h by forward_avx512.c, forward_avx2.c and forward_baseline.c, so they
 * share the forward's 16-lane helpers (exp16, sum_exp, max_of) and its ISA attribute.
 *
 * Reductions use 16 independent lanes in a fixed order, so every ISA gives the same bits. */
#include "backward_variants.h"

/* dot(a, b) over n floats, 16 lanes. */
SHEARS_INLINE float SHEARS_VARIANT(dot)(const float *a, const float *b, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i + (size_t)j < n; j++) acc[j] += a[i + j] * b[i + j];
    return SHEARS_VARIANT(fold16)(acc);
}

/* The SwiGLU backward on 16 lanes: dz becomes dL/dgate, du receives dL/dup. */
SHEARS_INLINE void SHEARS_VARIANT(swiglu_backward16)(const float *restrict gate, const float *restrict up,
                                                      float *restrict dz, float *restrict du) {
    float negated[LANES], e[LANES];
    for (int j = 0; j < LANES; j++) negated[j] = -gate[j];
    SHEARS_VARIANT(exp16)(negated, e);
    for (int j = 0; j < LANES; j++) {
        float g = gate[j], sigma = 1.0f / (1.0f + e[j]), d = dz[j];
        du[j] = d * g * sigma;
        dz[j] = d * up[j] * sigma * (1.0f + g * (1.0f - sigma));
    }
}

void SHEARS_VARIANT(shears_swiglu_backward)(const float *gate, const float *up, float *gradient,
                                            float *up_gradient, size_t n) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        SHEARS_VARIANT(swiglu_backward16)(gate + i, up + i, gradient + i, up_gradient + i);
    if (i < n) {
        size_t count = n - i;
        float g[LANES] = {0}, u[LANES] = {0}, d[LANES] = {0}, du[LANES];
        memcpy(g, gate + i, count * sizeof(float));
        memcpy(u, up + i, count * sizeof(float));
        memcpy(d, gradient + i, count * sizeof(float));
        SHEARS_VARIANT(swiglu_backward16)(g, u, d, du);
        memcpy(gradient + i, d, count * sizeof(float));
        memcpy(up_gradient + i, du, count * sizeof(float));
    }
}

void SHEARS_VARIANT(shears_rmsnorm_backward)(const float *x, const float *w, const float *dy, float *dx,
                                             size_t rows, size_t n, float eps, float *inverse_rms) {
    if (n == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n, *dyr = dy + r * n;
        float *dxr = dx + r * n;
        float inv = 1.0f / sqrtf(SHEARS_VARIANT(sum_squares)(xr, n) / (float)n + eps);
        float acc[LANES] = {0};
        size_t i = 0;
        for (; i + LANES <= n; i += LANES)
            for (int j = 0; j < LANES; j++) acc[j] += dyr[i + j] * w[i + j] * xr[i + j];
        for (int j = 0; i + (size_t)j < n; j++) acc[j] += dyr[i + j] * w[i + j] * xr[i + j];
        float projection = SHEARS_VARIANT(fold16)(acc) * inv * inv / (float)n;
        for (i = 0; i < n; i++) dxr[i] += inv * (dyr[i] * w[i] - xr[i] * projection);
        if (inverse_rms) inverse_rms[r] = inv;
    }
}

void SHEARS_VARIANT(shears_rmsnorm_weight_gradient)(const float *x, const float *dy, const float *inverse_rms,
                                                    size_t rows, size_t n, size_t first_column, size_t columns,
                                                    float *dw) {
    float *out = dw + first_column;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n + first_column, *dyr = dy + r * n + first_column;
        float inv = inverse_rms[r];
        for (size_t i = 0; i < columns; i++) out[i] += dyr[i] * xr[i] * inv;
    }
}

void SHEARS_VARIANT(shears_softmax_causal_backward)(const float *p, float *dp, size_t rows, size_t ld,
                                                    size_t first_length, size_t width, const float *out,
                                                    const float *out_gradient, size_t stride, size_t d) {
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * ld;
        float *dpr = dp + r * ld;
        size_t length = first_length + r;
        if (length > width) length = width;
        float delta = SHEARS_VARIANT(dot)(out + r * stride, out_gradient + r * stride, d);
        for (size_t i = 0; i < length; i++) dpr[i] = pr[i] * (dpr[i] - delta);
        for (size_t i = length; i < width; i++) dpr[i] = 0.0f;
    }
}

void SHEARS_VARIANT(shears_cross_entropy_gradient)(float *logits, size_t rows, size_t ld, size_t n,
                                                   const int32_t *targets, float scale, float *nll) {
    for (size_t r = 0; r < rows; r++) {
        float *row = logits + r * ld;
        float target = row[targets[r]];
        float m = SHEARS_VARIANT(max_of)(row, n);
        float total = SHEARS_VARIANT(sum_exp)(row, row, n, m);
        nll[r] = m + logf(total) - target;
        float factor = scale / total;
        for (size_t i = 0; i < n; i++) row[i] *= factor;
        row[targets[r]] -= scale;
    }
}
