/* The forward and backward kernels compiled for AVX-512 (F, BW, DQ, VL); only called when the CPU has it. */
#define SHEARS_VARIANT(name) name##_avx512
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#include "forward_body.h"
#include "backward_body.h"
#pragma clang attribute pop
#else /* other architectures: never dispatched to, defined for linking */
#include "forward_body.h"
#include "backward_body.h"
#endif
