/* The pruning kernels compiled for the target's baseline ISA (SSE2 on x86-64). */
#define SHEARS_VARIANT(name) name##_baseline
#include "prune_body.h"
