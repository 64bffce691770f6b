/* The one piece of linear algebra the OBS saliency needs: diag(H⁻¹) of a symmetric positive
 * definite matrix, through a Cholesky factorisation in double. */
#ifndef OBS_INVERSE_H
#define OBS_INVERSE_H

#include <stddef.h>

/* Overwrites the lower triangle of `a` (n × n, row-major, row stride n; the upper triangle is
 * ignored) and writes diag(A⁻¹) into `diagonal` (n doubles); `row` is n doubles of scratch.
 * Returns n on success, or the 0-based column whose Cholesky pivot was not positive (or not finite). */
size_t obs_inverse_diagonal(double *a, size_t n, double *diagonal, double *row);

#endif
