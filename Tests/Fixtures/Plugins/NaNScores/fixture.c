/* Fixture: returns OK but writes NaN into exactly one score, the last of the matrix (so a host that
 * only samples the scores misses it); every other score is |W_ij|, +Inf included where the weight
 * is infinite. The host must report the NaN, naming plugin, criterion and tensor. */
#include "fixture_nanscores.h"
#include "fixture_support.h"

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "nan",
    .name = "NaN (NaN-scores fixture)",
    .version = "1.0.0",
    .description = "|W_ij| except a NaN in the last score of each matrix.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
};

static shears_status score_with_nan(const shears_criterion *criterion, const shears_score_input *input,
                                    float *scores, char *message, size_t message_size) {
    shears_status status = fixture_magnitude_score(criterion, input, scores, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    size_t count = (size_t)input->weight.shape[0] * (size_t)input->weight.shape[1];
    if (count > 0) scores[count - 1] = __builtin_nanf("");
    return SHEARS_STATUS_OK;
}

FIXTURE_ONE_CRITERION(descriptor, score_with_nan, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.nan-scores",
    .name = "Fixture: NaN scores",
    .version = "1.0.0",
    .description = "Its criterion returns OK with one NaN score.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
