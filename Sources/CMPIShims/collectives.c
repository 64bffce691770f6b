#include "CMPIShims.h"

#include <stdlib.h>

#if __has_include(<mpi.h>)
#include <mpi.h>
#else
#include <mpi/mpi.h>
#endif

/// Elements per message of the ordered sums: 4 Mi (16 MB of floats), so that a rank's
/// receive buffer stays small whatever the matrix.
enum { chunk_elements = 1 << 22 };

int shears_mpi_init(int *rank, int *size) {
    int provided = 0;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return provided >= MPI_THREAD_SERIALIZED ? 0 : -1;
}

void shears_mpi_finalize(void) { MPI_Finalize(); }

void shears_mpi_abort(int status) { MPI_Abort(MPI_COMM_WORLD, status); }

void shears_mpi_gather_int64(int64_t value, int64_t *all) {
    MPI_Allgather(&value, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
}

void shears_mpi_gather_bytes(const void *values, int count, void *all) {
    MPI_Allgather(values, count, MPI_BYTE, all, count, MPI_BYTE, MPI_COMM_WORLD);
}

void shears_mpi_gather_floats(const float *values, const int *counts, float *all) {
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *offsets = malloc(sizeof(int) * (size_t)size);
    int offset = 0;
    for (int r = 0; r < size; r++) {
        offsets[r] = offset;
        offset += counts[r];
    }
    MPI_Allgatherv(values, counts[rank], MPI_FLOAT, all, counts, offsets, MPI_FLOAT, MPI_COMM_WORLD);
    free(offsets);
}

/// The ordered sum of one element type: rank 0 receives every other rank's chunk in rank order
/// and adds it, then broadcasts the total. `add` adds `count` elements of `from` into `into`.
static void ordered_sum(
    void *values, size_t count, size_t element, MPI_Datatype type, void (*add)(void *, const void *, int)) {
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size == 1 || count == 0) return;
    void *incoming = rank == 0 ? malloc(element * chunk_elements) : NULL;
    for (size_t start = 0; start < count; start += chunk_elements) {
        int n = (int)(count - start < chunk_elements ? count - start : chunk_elements);
        char *chunk = (char *)values + start * element;
        if (rank == 0) {
            for (int r = 1; r < size; r++) {
                MPI_Recv(incoming, n, type, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                add(chunk, incoming, n);
            }
        } else {
            MPI_Send(chunk, n, type, 0, 0, MPI_COMM_WORLD);
        }
        MPI_Bcast(chunk, n, type, 0, MPI_COMM_WORLD);
    }
    free(incoming);
}

static void add_floats(void *into, const void *from, int count) {
    float *a = into;
    const float *b = from;
    for (int i = 0; i < count; i++) a[i] += b[i];
}

static void add_doubles(void *into, const void *from, int count) {
    double *a = into;
    const double *b = from;
    for (int i = 0; i < count; i++) a[i] += b[i];
}

void shears_mpi_sum_floats(float *values, size_t count) {
    ordered_sum(values, count, sizeof(float), MPI_FLOAT, add_floats);
}

void shears_mpi_sum_doubles(double *values, size_t count) {
    ordered_sum(values, count, sizeof(double), MPI_DOUBLE, add_doubles);
}
