/* Fixture: ignores the weight view's strides and reads `data` as a contiguous rows × columns
 * matrix. Correct for contiguous views, wrong for padded or transposed ones, which is what a
 * stride check must catch. (It reads rows · columns floats from `data`, so give it views whose
 * extent is at least that: padded rows or a transpose.) */
#include "fixture_ignoresstrides.h"
#include "fixture_support.h"

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "magnitude",
    .name = "Magnitude (ignores-strides fixture)",
    .version = "1.0.0",
    .description = "|W_ij| read as if the view were contiguous.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
};

static shears_status contiguous_score(const shears_criterion *criterion, const shears_score_input *input,
                                      float *scores, char *message, size_t message_size) {
    (void)criterion;
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    const float *data = input->weight.data;
    for (size_t i = 0; i < rows * columns; i++) scores[i] = __builtin_fabsf(data[i]);
    return SHEARS_STATUS_OK;
}

FIXTURE_ONE_CRITERION(descriptor, contiguous_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.ignores-strides",
    .name = "Fixture: ignores strides",
    .version = "1.0.0",
    .description = "Reads every weight view as contiguous.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
