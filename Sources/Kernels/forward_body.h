/* Private: the bodies of the forward kernels, written once in plain C that the compiler
 * vectorises. Included by forward_avx512.c, forward_avx2.c and forward_baseline.c, each of which
 * defines SHEARS_VARIANT(name) (appending its ISA suffix) and wraps the include in a
 * `#pragma clang attribute` that sets the target ISA.
 *
 * Reductions use 16 independent lanes in a fixed order, so every ISA gives the same bits. */
#include <math.h>
#include <string.h>
#include "forward_variants.h"

#pragma clang fp reassociate(on) contract(fast)

enum { LANES = 16 };

#define SHEARS_INLINE static inline __attribute__((always_inline))

/* exp(x) on 16 lanes: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6
 * polynomial for exp(r), then scaling by 2^n through the exponent bits. */
SHEARS_INLINE void SHEARS_VARIANT(exp16)(const float *restrict x, float *restrict y) {
    for (int j = 0; j < LANES; j++) {
        float v = x[j];
        v = v < -87.0f ? -87.0f : v;
        v = v > 88.0f ? 88.0f : v;
        const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
        float n = (v * 1.44269504088896341f + shifter) - shifter;
        float r = v - n * 0.693359375f;
        r = r - n * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        int32_t bits = ((int32_t)n + 127) << 23;
        float scale;
        memcpy(&scale, &bits, sizeof scale);
        float result = p * scale;
        y[j] = x[j] < -87.0f ? 0.0f : result;
    }
}

/* exp of n elements (n may be anything; the tail goes through a padded copy). */
SHEARS_INLINE void SHEARS_VARIANT(exp_n)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) SHEARS_VARIANT(exp16)(x + i, y + i);
    if (i < n) {
        float in[LANES] = {0}, out[LANES];
        memcpy(in, x + i, (n - i) * sizeof(float));
        SHEARS_VARIANT(exp16)(in, out);
        memcpy(y + i, out, (n - i) * sizeof(float));
    }
}

SHEARS_INLINE float SHEARS_VARIANT(fold16)(const float *acc) {
    float total = 0;
    for (int j = 0; j < LANES; j++) total += acc[j];
    return total;
}

void SHEARS_VARIANT(shears_exp)(const float *x, float *y, size_t n) { SHEARS_VARIANT(exp_n)(x, y, n); }

float SHEARS_VARIANT(shears_sum)(const float *x, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
    for (int j = 0; i + (size_t)j < n; j++) acc[j] += x[i + j];
    return SHEARS_VARIANT(fold16)(acc);
}

SHEARS_INLINE float SHEARS_VARIANT(sum_squares)(const float *x, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j] * x[i + j];
    for (int j = 0; i + (size_t)j < n; j++) acc[j] += x[i + j] * x[i + j];
    return SHEARS_VARIANT(fold16)(acc);
}

SHEARS_INLINE float SHEARS_VARIANT(max_of)(const float *x, size_t n) {
    float acc[LANES];
    for (int j = 0; j < LANES; j++) acc[j] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    for (int j = 0; i + (size_t)j < n; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    float m = acc[0];
    for (int j = 1; j < LANES; j++) m = acc[j] > m ? acc[j] : m;
    return m;
}

/* sum of exp(x[i] - shift); if out is not NULL the exponentials are stored there too. */
SHEARS_INLINE float SHEARS_VARIANT(sum_exp)(const float *x, float *out, size_t n, float shift) {
    float acc[LANES] = {0};
    float in[LANES], e[LANES];
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int j = 0; j < LANES; j++) in[j] = x[i + j] - shift;
        SHEARS_VARIANT(exp16)(in, e);
        for (int j = 0; j < LANES; j++) acc[j] += e[j];
        if (out)
            for (int j = 0; j < LANES; j++) out[i + j] = e[j];
    }
    if (i < n) {
        size_t count = n - i;
        for (int j = 0; j < LANES; j++) in[j] = (size_t)j < count ? x[i + j] - shift : -INFINITY;
        SHEARS_VARIANT(exp16)(in, e);
        for (int j = 0; j < LANES; j++) acc[j] += e[j];
        if (out) memcpy(out + i, e, count * sizeof(float));
    }
    return SHEARS_VARIANT(fold16)(acc);
}

void SHEARS_VARIANT(shears_rmsnorm)(const float *x, const float *w, float *y, size_t rows, size_t n, float eps) {
    if (n == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float inv = 1.0f / sqrtf(SHEARS_VARIANT(sum_squares)(xr, n) / (float)n + eps);
        for (size_t i = 0; i < n; i++) yr[i] = xr[i] * inv * w[i];
    }
}

void SHEARS_VARIANT(shears_rope)(float *x, size_t rows, size_t row_stride, size_t heads, size_t head_dim,
                                 const float *cos_table, const float *sin_table, size_t first_position) {
    size_t half = head_dim / 2;
    for (size_t r = 0; r < rows; r++) {
        const float *c = cos_table + (first_position + r) * half;
        const float *s = sin_table + (first_position + r) * half;
        for (size_t h = 0; h < heads; h++) {
            float *v = x + r * row_stride + h * head_dim;
            for (size_t i = 0; i < half; i++) {
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * c[i] - b * s[i];
                v[2 * i + 1] = a * s[i] + b * c[i];
            }
        }
    }
}

void SHEARS_VARIANT(shears_softmax_causal)(float *scores, size_t rows, size_t ld, size_t first_length, size_t width,
                                           size_t group, float *inverse_sums) {
    for (size_t r = 0; r < rows; r++) {
        float *row = scores + r * ld;
        size_t length = first_length + r / (group ? group : 1);
        if (length > width) length = width;
        float inv = 0.0f;
        if (length > 0) {
            float m = SHEARS_VARIANT(max_of)(row, length);
            inv = 1.0f / SHEARS_VARIANT(sum_exp)(row, row, length, m);
            if (!inverse_sums)
                for (size_t i = 0; i < length; i++) row[i] *= inv;
        }
        if (inverse_sums) inverse_sums[r] = inv;
        for (size_t i = length; i < width; i++) row[i] = 0.0f;
    }
}

/* gate = silu(gate) * up on 16 lanes. */
SHEARS_INLINE void SHEARS_VARIANT(silu_mul16)(float *restrict gate, const float *restrict up) {
    float negated[LANES], e[LANES];
    for (int j = 0; j < LANES; j++) negated[j] = -gate[j];
    SHEARS_VARIANT(exp16)(negated, e);
    for (int j = 0; j < LANES; j++) gate[j] = gate[j] / (1.0f + e[j]) * up[j];
}

void SHEARS_VARIANT(shears_silu_mul)(float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) SHEARS_VARIANT(silu_mul16)(gate + i, up + i);
    if (i < n) {
        float g[LANES] = {0}, u[LANES] = {0};
        memcpy(g, gate + i, (n - i) * sizeof(float));
        memcpy(u, up + i, (n - i) * sizeof(float));
        SHEARS_VARIANT(silu_mul16)(g, u);
        memcpy(gate + i, g, (n - i) * sizeof(float));
    }
}

void SHEARS_VARIANT(shears_add)(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void SHEARS_VARIANT(shears_cross_entropy)(const float *logits, size_t rows, size_t ld, size_t n,
                                          const int32_t *targets, float *nll) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = logits + r * ld;
        float m = SHEARS_VARIANT(max_of)(row, n);
        float total = SHEARS_VARIANT(sum_exp)(row, NULL, n, m);
        nll[r] = m + logf(total) - row[targets[r]];
    }
}
