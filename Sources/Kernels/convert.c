#include "kernels_convert.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SHEARS_HAVE_F16C_PATH 1
#endif

static inline uint32_t float_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static inline float bits_float(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint16_t load_u16(const unsigned char *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void store_u16(unsigned char *p, uint16_t value) {
    p[0] = (unsigned char)(value & 0xff);
    p[1] = (unsigned char)(value >> 8);
}

float shears_half_to_float(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000u) << 16;
    uint32_t exponent = (half >> 10) & 0x1fu;
    uint32_t mantissa = half & 0x3ffu;
    if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0) return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    /* zero or subnormal: mantissa * 2^-24, exact in float */
    return bits_float(sign | float_bits((float)mantissa * 0x1p-24f));
}

uint16_t shears_float_to_half(float value) {
    uint32_t bits = float_bits(value);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) /* NaN: keep it quiet, keep the top payload bits */
        return sign | 0x7e00u | (uint16_t)((magnitude >> 13) & 0x3ffu);
    if (magnitude >= 0x477ff000u) /* 65520 and above round to infinity */
        return sign | 0x7c00u;
    if (magnitude >= 0x38800000u) { /* normal half: rebias the exponent, round the mantissa */
        uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
        return sign | (uint16_t)((rounded - 0x38000000u) >> 13);
    }
    uint32_t exponent = magnitude >> 23;
    if (exponent < 102) return sign; /* below half the smallest subnormal */
    uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - exponent; /* value / 2^-24 = significand >> shift */
    uint32_t result = significand >> shift;
    uint32_t remainder = significand & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (remainder > halfway || (remainder == halfway && (result & 1u))) result += 1u;
    return sign | (uint16_t)result;
}

static inline uint16_t float_to_bfloat(float value) {
    uint32_t bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 64u);
    return (uint16_t)((bits + (0x7fffu + ((bits >> 16) & 1u))) >> 16);
}

#ifdef SHEARS_HAVE_F16C_PATH
static int cpu_has_f16c(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
}

__attribute__((target("avx,f16c")))
static size_t f16_to_f32_f16c(const unsigned char *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i halves = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(halves));
    }
    return i;
}

__attribute__((target("avx,f16c")))
static size_t f32_to_f16_f16c(const float *src, unsigned char *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i halves = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), halves);
    }
    return i;
}
#endif

void shears_f16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
#ifdef SHEARS_HAVE_F16C_PATH
    if (cpu_has_f16c()) i = f16_to_f32_f16c(bytes, dst, count);
#endif
    for (; i < count; i++) dst[i] = shears_half_to_float(load_u16(bytes + 2 * i));
}

void shears_f32_to_f16(const float *src, void *dst, size_t count) {
    unsigned char *bytes = dst;
    size_t i = 0;
#ifdef SHEARS_HAVE_F16C_PATH
    if (cpu_has_f16c()) i = f32_to_f16_f16c(src, bytes, count);
#endif
    for (; i < count; i++) store_u16(bytes + 2 * i, shears_float_to_half(src[i]));
}

void shears_bf16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) dst[i] = bits_float((uint32_t)load_u16(bytes + 2 * i) << 16);
}

void shears_f32_to_bf16(const float *src, void *dst, size_t count) {
    unsigned char *bytes = dst;
    for (size_t i = 0; i < count; i++) store_u16(bytes + 2 * i, float_to_bfloat(src[i]));
}
