/* diag(A⁻¹) for symmetric positive definite A, in three O(n³/6) passes over row-major lower
 * triangles, every inner loop contiguous:
 *   1. Cholesky A = L·Lᵀ by rows: L_rc = (A_rc − L_r,0..c · L_c,0..c) / L_cc (dot products);
 *   2. X = L⁻¹ by rows, in place: X_i,0..i = −(Σ_m<i L_im · X_m,0..m) / L_ii, X_ii = 1 / L_ii
 *      (axpy updates into a scratch row: row i of L is read before it is overwritten);
 *   3. A⁻¹ = Xᵀ·X, so [A⁻¹]_kk = Σ_i≥k X_ik², accumulated row by row as X is produced.
 * The body is compiled for baseline x86-64, AVX2+FMA and AVX-512F and chosen at run time; the dot
 * products are reassociated (vectorised), so the last bits depend on the ISA. */
#include "obs_inverse.h"

#include <math.h>

#define OBS_INVERSE_BODY                                                                           \
    _Pragma("clang fp reassociate(on) contract(fast)")                                            \
    for (size_t r = 0; r < n; r++) {                                                               \
        double *lr = a + r * n;                                                                    \
        for (size_t c = 0; c <= r; c++) {                                                          \
            const double *lc = a + c * n;                                                          \
            double dot = 0;                                                                        \
            for (size_t k = 0; k < c; k++) dot += lr[k] * lc[k];                                   \
            double s = lr[c] - dot;                                                                \
            if (c < r) {                                                                           \
                lr[c] = s / lc[c];                                                                 \
            } else {                                                                               \
                if (!(s > 0) || !isfinite(s)) return r;                                            \
                lr[r] = sqrt(s);                                                                   \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    for (size_t k = 0; k < n; k++) diagonal[k] = 0;                                                \
    for (size_t i = 0; i < n; i++) {                                                               \
        double *li = a + i * n;                                                                    \
        for (size_t k = 0; k < i; k++) row[k] = 0;                                                 \
        for (size_t m = 0; m < i; m++) {                                                           \
            const double f = li[m];                                                                \
            const double *xm = a + m * n;                                                          \
            for (size_t k = 0; k <= m; k++) row[k] += f * xm[k];                                   \
        }                                                                                          \
        const double inverse_pivot = 1.0 / li[i];                                                  \
        for (size_t k = 0; k < i; k++) {                                                           \
            li[k] = -row[k] * inverse_pivot;                                                       \
            diagonal[k] += li[k] * li[k];                                                          \
        }                                                                                          \
        li[i] = inverse_pivot;                                                                     \
        diagonal[i] += inverse_pivot * inverse_pivot;                                              \
    }                                                                                              \
    return n;

static size_t obs_inverse_baseline(double *restrict a, size_t n, double *restrict diagonal, double *restrict row) {
    OBS_INVERSE_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static size_t obs_inverse_avx2(double *restrict a, size_t n,
                                                                   double *restrict diagonal, double *restrict row) {
    OBS_INVERSE_BODY
}

__attribute__((target("avx512f,fma"))) static size_t obs_inverse_avx512(double *restrict a, size_t n,
                                                                        double *restrict diagonal,
                                                                        double *restrict row) {
    OBS_INVERSE_BODY
}
#endif

size_t obs_inverse_diagonal(double *a, size_t n, double *diagonal, double *row) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return obs_inverse_avx512(a, n, diagonal, row);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return obs_inverse_avx2(a, n, diagonal, row);
#endif
    return obs_inverse_baseline(a, n, diagonal, row);
}
