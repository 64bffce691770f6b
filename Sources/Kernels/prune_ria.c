/* RIA channel permutation: the value matrix of one linear-sum-assignment round, with run-time ISA
 * dispatch (the same ISA as the other pruning kernels). */
#include "kernels_prune.h"

/* Four candidates at a time share each threshold load; 16 float lanes per candidate, summed in
 * double at the end (fixed order, so every ISA gives the same bits). */
static inline __attribute__((always_inline)) void assignment_values_body(const float *thresholds,
                                                                         const float *candidates, size_t groups,
                                                                         size_t rows, double *values) {
    for (size_t g = 0; g < groups; g++) {
        const float *restrict t = thresholds + g * rows;
        size_t r = 0;
        for (; r + 4 <= groups; r += 4) {
            const float *restrict c0 = candidates + r * rows, *restrict c1 = c0 + rows;
            const float *restrict c2 = c1 + rows, *restrict c3 = c2 + rows;
            float a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
            size_t i = 0;
            for (; i + 16 <= rows; i += 16) {
                for (size_t l = 0; l < 16; l++) {
                    float x = t[i + l];
                    a0[l] += c0[i + l] > x ? c0[i + l] : x;
                    a1[l] += c1[i + l] > x ? c1[i + l] : x;
                    a2[l] += c2[i + l] > x ? c2[i + l] : x;
                    a3[l] += c3[i + l] > x ? c3[i + l] : x;
                }
            }
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t l = 0; l < 16; l++) {
                s0 += a0[l];
                s1 += a1[l];
                s2 += a2[l];
                s3 += a3[l];
            }
            for (; i < rows; i++) {
                float x = t[i];
                s0 += c0[i] > x ? c0[i] : x;
                s1 += c1[i] > x ? c1[i] : x;
                s2 += c2[i] > x ? c2[i] : x;
                s3 += c3[i] > x ? c3[i] : x;
            }
            double *out = values + g * groups + r;
            out[0] = s0;
            out[1] = s1;
            out[2] = s2;
            out[3] = s3;
        }
        for (; r < groups; r++) {
            const float *restrict c = candidates + r * rows;
            double s = 0;
            for (size_t i = 0; i < rows; i++) s += c[i] > t[i] ? c[i] : t[i];
            values[g * groups + r] = s;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static void
assignment_values_avx512(const float *thresholds, const float *candidates, size_t groups, size_t rows,
                         double *values) {
    assignment_values_body(thresholds, candidates, groups, rows, values);
}

__attribute__((target("avx2,fma"))) static void assignment_values_avx2(const float *thresholds,
                                                                       const float *candidates, size_t groups,
                                                                       size_t rows, double *values) {
    assignment_values_body(thresholds, candidates, groups, rows, values);
}
#endif

static void assignment_values_baseline(const float *thresholds, const float *candidates, size_t groups,
                                       size_t rows, double *values) {
    assignment_values_body(thresholds, candidates, groups, rows, values);
}

void shears_ria_assignment_values(const float *thresholds, const float *candidates, size_t groups, size_t rows,
                                  double *values) {
#if defined(__x86_64__) || defined(__i386__)
    switch (shears_prune_isa()) {
    case SHEARS_ISA_AVX512: assignment_values_avx512(thresholds, candidates, groups, rows, values); return;
    case SHEARS_ISA_AVX2: assignment_values_avx2(thresholds, candidates, groups, rows, values); return;
    default: break;
    }
#endif
    assignment_values_baseline(thresholds, candidates, groups, rows, values);
}
