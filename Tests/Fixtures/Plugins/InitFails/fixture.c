/* Fixture: `init` logs "fixture: init is about to fail" at ERROR through the host, then fails with
 * UNSUPPORTED and the message "fixture: init always fails". The host must show the log line (its
 * handler is installed before init), report the failure and unload the library without calling
 * `deinit`. */
#include "fixture_initfails.h"
#include "fixture_support.h"

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "magnitude",
    .name = "Magnitude (init-fails fixture)",
    .version = "1.0.0",
    .description = "|W_ij|, never reachable because init fails.",
};

static shears_status failing_init(const shears_host *host, char *message, size_t message_size) {
    if (host && host->log) host->log(host, SHEARS_LOG_ERROR, "fixture: init is about to fail");
    return fixture_fail(SHEARS_STATUS_UNSUPPORTED, message, message_size, "fixture: init always fails");
}

static uint32_t criterion_count(void) { return 1; }

static const shears_criterion_descriptor *criterion_descriptor(uint32_t index) {
    return index == 0 ? &descriptor : NULL;
}

static shears_status create(const char *id, const shears_parameters *parameters, shears_criterion **out,
                            char *message, size_t message_size) {
    (void)parameters;
    return fixture_create(descriptor.id, id, fixture_magnitude_score, NULL, NULL, out, message, message_size);
}

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.init-fails",
    .name = "Fixture: init fails",
    .version = "1.0.0",
    .description = "Its init always returns UNSUPPORTED.",
    .init = failing_init,
    .deinit = fixture_deinit,
    .criterion_count = criterion_count,
    .criterion_descriptor = criterion_descriptor,
    .create_criterion = create,
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
