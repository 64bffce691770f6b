// Debian's OpenBLAS: the CBLAS interface plus OpenBLAS's run-time control functions.
#ifndef SHEARS_CBLAS_SHIM_H
#define SHEARS_CBLAS_SHIM_H

#include <cblas.h>

// Declared here because some cblas.h builds hide them behind configuration macros.
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

// LAPACK (Fortran calling convention; OpenBLAS bundles LAPACK).
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void spotri_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info);

#endif
