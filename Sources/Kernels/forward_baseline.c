/* The forward and backward kernels compiled for the target's baseline ISA (SSE2 on x86-64). */
#define SHEARS_VARIANT(name) name##_baseline
#include "forward_body.h"
#include "backward_body.h"
