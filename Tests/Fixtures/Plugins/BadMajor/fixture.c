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
    .abi_version = {99, 0, 0},
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.bad-major",
    .name = "Fixture: bad major",
    .version = "1.0.0",
    .description = "Built against a future ABI 99; a 1.x host must refuse it.",
    .init = fixture_init,
    .deinit = fixture_deinit,
    .criterion_count = criterion_count,
    .criterion_descriptor = criterion_descriptor,
    .create_criterion = create,
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
