/* Fixture: loads and creates fine, but every score call fails with INVALID_ARGUMENT and the
 * message "fixture: score refuses every matrix", which the host must pass on (with the tensor name). */
#include "fixture_scoreerror.h"
#include "fixture_support.h"

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "refuse",
    .name = "Refuse (score-error fixture)",
    .version = "1.0.0",
    .description = "Fails every score call with INVALID_ARGUMENT.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
};

static shears_status refuse(const shears_criterion *criterion, const shears_score_input *input, float *scores,
                            char *message, size_t message_size) {
    (void)criterion;
    (void)input;
    (void)scores;
    return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size, "fixture: score refuses every matrix");
}

FIXTURE_ONE_CRITERION(descriptor, refuse, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.score-error",
    .name = "Fixture: score error",
    .version = "1.0.0",
    .description = "Its criterion refuses every matrix.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
