/* Element-type conversions (half, bfloat16) for model I/O. */
#ifndef SHEARS_KERNELS_CONVERT_H
#define SHEARS_KERNELS_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/** Converts `count` IEEE half-precision values to float (exact). `src` need not be aligned. */
void shears_f16_to_f32(const void *src, float *dst, size_t count);

/** Converts `count` floats to IEEE half precision, rounding to nearest even (as F16C and ggml do). */
void shears_f32_to_f16(const float *src, void *dst, size_t count);

/** Converts `count` bfloat16 values to float (exact). `src` need not be aligned. */
void shears_bf16_to_f32(const void *src, float *dst, size_t count);

/** Converts `count` floats to bfloat16 as ggml does: round to nearest even, NaN kept quiet. */
void shears_f32_to_bf16(const float *src, void *dst, size_t count);

/** One half-precision value as float (exact). */
float shears_half_to_float(uint16_t half);

/** One float as half precision, rounding to nearest even. */
uint16_t shears_float_to_half(float value);

#endif
