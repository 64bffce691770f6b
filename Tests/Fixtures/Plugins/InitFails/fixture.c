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

FIXTURE_ONE_CRITERION(descriptor, fixture_magnitude_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.init-fails",
    .name = "Fixture: init fails",
    .version = "1.0.0",
    .description = "Its init always returns UNSUPPORTED.",
    FIXTURE_ENTRY_CALLBACKS(failing_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
