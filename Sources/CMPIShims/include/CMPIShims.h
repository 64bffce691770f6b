// The MPI collectives of a distributed prune, over MPI_COMM_WORLD, with plain C types. Every
// function is called by every rank in the same order (they are collective); an MPI failure aborts
// the whole job (MPI's default error handler), so none returns an error.
#ifndef SHEARS_CMPI_SHIMS_H
#define SHEARS_CMPI_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Initialises MPI (calls from one thread at a time) and reports this process's rank and the
/// number of ranks. Returns 0, or -1 when MPI gives less than serialized thread support.
int shears_mpi_init(int *rank, int *size);

/// Finalises MPI (after the last collective).
void shears_mpi_finalize(void);

/// Ends every rank of the job with `status` (after one rank failed).
void shears_mpi_abort(int status);

/// Every rank's `value`, in rank order, into `all` (`size` values).
void shears_mpi_gather_int64(int64_t value, int64_t *all);

/// Every rank's `count` bytes, in rank order, into `all` (`size × count` bytes).
void shears_mpi_gather_bytes(const void *values, int count, void *all);

/// Every rank's floats (rank r gives `counts[r]` of them), concatenated in rank order into `all`.
void shears_mpi_gather_floats(const float *values, const int *counts, float *all);

/// `values` summed element-wise over the ranks in rank order, ((v0 + v1) + v2) + ..., the same
/// result on every rank whatever the timing. Works in chunks, so any `count` is fine.
void shears_mpi_sum_floats(float *values, size_t count);

/// `shears_mpi_sum_floats` for doubles.
void shears_mpi_sum_doubles(double *values, size_t count);

#endif
