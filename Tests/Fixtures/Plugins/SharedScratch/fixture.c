/* Fixture: declares SHEARS_CRITERION_THREAD_SAFE but is not: score fills one global scratch buffer
 * with |W_ij|, sleeps 2 ms (to widen the window) and copies the buffer out. Run alone it scores
 * correctly; two concurrent calls on different matrices overwrite each other's scratch, so a
 * concurrency check (same matrices scored serially and in parallel) sees different scores.
 * Matrices above 2^20 weights are refused with UNSUPPORTED. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "fixture_sharedscratch.h"
#include "fixture_support.h"

#include <time.h>

#define SCRATCH_CAPACITY (1u << 20)

/* The deliberately shared, unsynchronised scratch. */
static float scratch[SCRATCH_CAPACITY];

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "magnitude",
    .name = "Magnitude (shared-scratch fixture)",
    .version = "1.0.0",
    .description = "|W_ij| through a global scratch buffer; wrongly declares THREAD_SAFE.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
};

static shears_status racy_score(const shears_criterion *criterion, const shears_score_input *input, float *scores,
                                char *message, size_t message_size) {
    (void)criterion;
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    if (columns > 0 && rows > SCRATCH_CAPACITY / columns)
        return fixture_fail(SHEARS_STATUS_UNSUPPORTED, message, message_size,
                            "fixture: matrix larger than the 2^20-float shared scratch");
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j++) scratch[r * columns + j] = __builtin_fabsf(fixture_weight(&input->weight, r, j));
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 2000000}, NULL);
    for (size_t i = 0; i < rows * columns; i++) scores[i] = scratch[i];
    return SHEARS_STATUS_OK;
}

FIXTURE_ONE_CRITERION(descriptor, racy_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.shared-scratch",
    .name = "Fixture: shared scratch",
    .version = "1.0.0",
    .description = "Claims thread safety but scores through one global buffer.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
