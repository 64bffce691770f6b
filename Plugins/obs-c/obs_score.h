/* The OBS saliency of one matrix, separate from the plugin plumbing in obs_plugin.c. */
#ifndef OBS_SCORE_H
#define OBS_SCORE_H

#include "shears_plugin.h"

/* Fills `scores` (rows × columns, row-major) with w_ij² / [(H + λI)⁻¹]_jj, λ = damp · mean(diag H),
 * after checking the views; dead input channels (H_jj = 0) score 0. Scratch comes from `host`. */
shears_status obs_score(const shears_host *host, double damp, const shears_score_input *input, float *scores,
                        char *message, size_t message_size);

#endif
