/* The forward and backward kernels compiled for AVX2 + FMA; only called when the CPU has it. */
#define SHEARS_VARIANT(name) name##_avx2
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "forward_body.h"
#include "backward_body.h"
#pragma clang attribute pop
#else /* other architectures: never dispatched to, defined for linking */
#include "forward_body.h"
#include "backward_body.h"
#endif
