/* Kernels of the LLaMA forward pass (RMSNorm, RoPE, softmax, SwiGLU, loss). */
#ifndef SHEARS_KERNELS_FORWARD_H
#define SHEARS_KERNELS_FORWARD_H
#endif
