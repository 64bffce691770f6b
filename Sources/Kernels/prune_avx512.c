/* The pruning kernels compiled for AVX-512 (F, BW, DQ, VL); only called when the CPU has it. */
#define SHEARS_VARIANT(name) name##_avx512
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#include "prune_body.h"
#pragma clang attribute pop
#else
#include "prune_body.h" /* other architectures: never dispatched to, defined for linking */
#endif
