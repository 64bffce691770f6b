/* Wanda scoring, separate from the plugin plumbing in wanda_plugin.c. */
#ifndef WANDA_SCORE_H
#define WANDA_SCORE_H

#include "shears_plugin.h"

/* Fills `scores` (rows × columns, row-major) with |W_ij| · sqrtf(scaler_row_j) after checking the
 * views; `host` provides the scratch for the per-column norms. */
shears_status wanda_score(const shears_host *host, const shears_score_input *input, float *scores,
                          char *message, size_t message_size);

#endif
