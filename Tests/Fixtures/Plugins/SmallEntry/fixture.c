/* Fixture: reports an entry struct_size one pointer short of the 1.0 layout (it stops before
 * `create_criterion`), although every field is actually filled in. A host must refuse it rather
 * than read the field the plugin says it does not have. */
#include "fixture_smallentry.h"
#include "fixture_support.h"

#include <stddef.h>

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "magnitude",
    .name = "Magnitude (small-entry fixture)",
    .version = "1.0.0",
    .description = "|W_ij|; the entry's struct_size is smaller than ABI 1.0's.",
};

FIXTURE_ONE_CRITERION(descriptor, fixture_magnitude_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = (uint32_t)offsetof(shears_plugin_entry, create_criterion),
    .id = "org.shears.fixtures.small-entry",
    .name = "Fixture: small entry",
    .version = "1.0.0",
    .description = "Its entry claims to end before create_criterion.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
