/* Shears native kernels: one umbrella header, one header per area. */
#ifndef SHEARS_KERNELS_H
#define SHEARS_KERNELS_H

#include "kernels_cpu.h"
#include "kernels_convert.h"
#include "kernels_forward.h"
#include "kernels_backward.h"
#include "kernels_prune.h"

#endif
