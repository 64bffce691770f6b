/* Private: the bodies of the pruning kernels, written once in plain C that the compiler
 * vectorises. Included by prune_avx512.c, prune_avx2.c and prune_baseline.c, each of which
 * defines SHEARS_VARIANT(name) (appending its ISA suffix) and wraps the include in a
 * `#pragma clang attribute` that sets the target ISA.
 *
 * No reassociation: every variant gives the same bits as the plain scalar order. */
#include <string.h>
#include "prune_variants.h"

#pragma clang fp contract(off)

void SHEARS_VARIANT(shears_prune_column_moments)(const float *x, size_t rows, size_t cols, size_t ld,
                                                 float *sum, float *sumsq) {
    for (size_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * ld;
        if (sum) {
            float *restrict s = sum;
            for (size_t j = 0; j < cols; j++) s[j] += row[j];
        }
        if (sumsq) {
            float *restrict q = sumsq;
            for (size_t j = 0; j < cols; j++) q[j] += row[j] * row[j];
        }
    }
}

void SHEARS_VARIANT(shears_prune_abs_scores)(const float *w, size_t rows, size_t cols, const float *scale,
                                             float *scores) {
    for (size_t r = 0; r < rows; r++) {
        const float *restrict in = w + r * cols;
        float *restrict out = scores + r * cols;
        if (scale) {
            for (size_t j = 0; j < cols; j++) out[j] = __builtin_fabsf(in[j]) * scale[j];
        } else {
            for (size_t j = 0; j < cols; j++) out[j] = __builtin_fabsf(in[j]);
        }
    }
}

/* Hoare-style quickselect on a scratch copy: median-of-three pivots, three-way partition so runs
 * of equal values (common in quantised weights) end the search at once. */
float SHEARS_VARIANT(shears_prune_kth_smallest)(const float *x, size_t n, size_t k, float *scratch) {
    memcpy(scratch, x, n * sizeof(float));
    size_t lo = 0, hi = n; /* the answer lies in scratch[lo..hi) */
    while (hi - lo > 1) {
        float a = scratch[lo], b = scratch[lo + (hi - lo) / 2], c = scratch[hi - 1];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* Dutch-flag partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot. */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            float v = scratch[i];
            if (v < pivot) {
                scratch[i++] = scratch[lt];
                scratch[lt++] = v;
            } else if (v > pivot) {
                scratch[i] = scratch[--gt];
                scratch[gt] = v;
            } else {
                i++;
            }
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return pivot;
    }
    return scratch[lo];
}

size_t SHEARS_VARIANT(shears_prune_mask_at_most)(const float *scores, size_t n, float tau, uint8_t *mask) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t hit = scores[i] <= tau;
        mask[i] |= hit;
        count += hit;
    }
    return count;
}

void SHEARS_VARIANT(shears_prune_select_rows)(const float *scores, size_t rows, size_t cols, size_t k,
                                              uint8_t *mask, float *scratch) {
    for (size_t r = 0; r < rows; r++) {
        const float *restrict row = scores + r * cols;
        uint8_t *restrict out = mask + r * cols;
        if (k == 0) {
            memset(out, 0, cols);
            continue;
        }
        float tau = SHEARS_VARIANT(shears_prune_kth_smallest)(row, cols, k - 1, scratch);
        size_t below = 0;
        for (size_t j = 0; j < cols; j++) {
            uint8_t hit = row[j] < tau;
            out[j] = hit;
            below += hit;
        }
        size_t ties = k - below; /* the first `ties` entries equal to tau, by column */
        for (size_t j = 0; j < cols && ties > 0; j++) {
            if (row[j] == tau) {
                out[j] = 1;
                ties--;
            }
        }
    }
}

void SHEARS_VARIANT(shears_prune_select_groups)(const float *scores, size_t rows, size_t cols, size_t prune,
                                                size_t m, uint8_t *mask) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t g = 0; g < cols; g += m) {
            const float *s = scores + r * cols + g;
            uint8_t *out = mask + r * cols + g;
            for (size_t j = 0; j < m; j++) {
                size_t rank = 0; /* position of s[j] in a stable ascending sort of the group */
                for (size_t i = 0; i < m; i++) rank += (s[i] < s[j]) || (s[i] == s[j] && i < j);
                out[j] = rank < prune;
            }
        }
    }
}

size_t SHEARS_VARIANT(shears_prune_apply_mask)(float *w, const uint8_t *mask, size_t n) {
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        float v = mask[i] ? 0.0f : w[i];
        w[i] = v;
        zeros += v == 0.0f;
    }
    return zeros;
}

size_t SHEARS_VARIANT(shears_prune_count_zeros)(const float *w, size_t n) {
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) zeros += w[i] == 0.0f;
    return zeros;
}

void SHEARS_VARIANT(shears_sparsegpt_sweep)(float *wb, size_t rows, size_t cols, size_t ldw, const float *u,
                                            size_t ldu, uint8_t *mask, size_t ldm, size_t prune, size_t m,
                                            float *err, size_t lde) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict w = wb + r * ldw;
        uint8_t *restrict pruned = mask + r * ldm;
        float *restrict e = err + r * lde;
        for (size_t c = 0; c < cols; c++) {
            if (prune > 0 && c % m == 0) {
                float saliency[64];
                size_t width = m < 64 ? m : 64;
                for (size_t j = 0; j < width; j++) {
                    float d = u[(c + j) * ldu + c + j];
                    saliency[j] = w[c + j] * w[c + j] / (d * d);
                }
                SHEARS_VARIANT(shears_prune_select_groups)(saliency, 1, width, prune, width, pruned + c);
            }
            float value = w[c];
            float kept = pruned[c] ? 0.0f : value;
            float error = (value - kept) / u[c * ldu + c];
            w[c] = kept;
            e[c] = error;
            if (error != 0.0f) {
                const float *restrict urow = u + c * ldu;
                for (size_t j = c + 1; j < cols; j++) w[j] -= error * urow[j];
            }
        }
    }
}
