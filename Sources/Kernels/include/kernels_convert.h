/* Element-type conversions (half, bfloat16) for model I/O. */
#ifndef SHEARS_KERNELS_CONVERT_H
#define SHEARS_KERNELS_CONVERT_H
#endif
