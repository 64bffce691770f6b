/* Fixture: claims ABI major 99. Otherwise a conforming magnitude plugin, so the only reason to
 * refuse it is the version check (which must come before anything else is called). */
#include "fixture_badmajor.h"
#include "fixture_support.h"

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "magnitude",
    .name = "Magnitude (bad-major fixture)",
    .version = "1.0.0",
    .description = "|W_ij|; the plugin claims ABI 99.0.0.",
};

FIXTURE_ONE_CRITERION(descriptor, fixture_magnitude_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = {99, 0, 0},
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.bad-major",
    .name = "Fixture: bad major",
    .version = "1.0.0",
    .description = "Built against a future ABI 99; a 1.x host must refuse it.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
