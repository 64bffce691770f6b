// Open MPI's C interface (Debian's libopenmpi-dev). Swift does not use it directly: the handles
// (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros Swift cannot import, so CMPIShims wraps the few
// collectives Shears needs.
#ifndef SHEARS_CMPI_SHIM_H
#define SHEARS_CMPI_SHIM_H

#if __has_include(<mpi.h>)
#include <mpi.h>
#else
#include <mpi/mpi.h>
#endif

#endif
