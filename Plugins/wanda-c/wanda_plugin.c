/* Plugin plumbing for the Wanda example: the entry, one criterion descriptor, instances. */
#include "shears_wanda_plugin.h"
#include "wanda_score.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The host vtable from the latest `init`, for `create`. A host that loads this file twice shares
 * one copy of these globals (dlopen counts references), so loads are counted and every instance
 * keeps the vtable it was created with (valid until the deinit that follows its destroy). */
static _Atomic(const shears_host *) wanda_host;
static atomic_uint wanda_loads;

static shears_status wanda_init(const shears_host *host, char *message, size_t message_size) {
    if (!host || host->struct_size < offsetof(shears_host, get_string) || !host->alloc || !host->free) {
        if (message && message_size > 0) snprintf(message, message_size, "wanda: the host vtable lacks alloc/free");
        return SHEARS_STATUS_UNSUPPORTED;
    }
    atomic_store(&wanda_host, host);
    atomic_fetch_add(&wanda_loads, 1);
    return SHEARS_STATUS_OK;
}

static void wanda_deinit(void) {
    if (atomic_fetch_sub(&wanda_loads, 1) == 1) atomic_store(&wanda_host, NULL);
}

static const shears_criterion_descriptor wanda_descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "wanda",
    .name = "Wanda (C plugin)",
    .version = "1.0.0",
    .description = "|W_ij| * sqrt(scaler_row_j), the weight magnitude times the L2 norm of its input "
                   "channel over the calibration tokens. Sun, Liu, Bair, Kolter 2023, 'A Simple and "
                   "Effective Pruning Approach for Large Language Models' (github.com/locuslab/wanda). "
                   "Bit-identical to Shears' built-in wanda criterion.",
    .statistics = SHEARS_STATISTICS_SQUARED_NORMS,
    .flags = SHEARS_CRITERION_THREAD_SAFE,
    .parameter_count = 0,
    .parameters = NULL,
};

static uint32_t wanda_criterion_count(void) { return 1; }

static const shears_criterion_descriptor *wanda_criterion_descriptor(uint32_t index) {
    return index == 0 ? &wanda_descriptor : NULL;
}

static shears_status wanda_instance_score(const shears_criterion *criterion, const shears_score_input *input,
                                          float *scores, char *message, size_t message_size) {
    return wanda_score(criterion->criterion_data, input, scores, message, message_size);
}

static void wanda_destroy(shears_criterion *criterion) {
    const shears_host *host = criterion->criterion_data;
    host->free(host, criterion);
}

static const void *wanda_instance_extension(const shears_criterion *criterion, const char *id) {
    (void)criterion;
    (void)id;
    return NULL;
}

static shears_status wanda_create(const char *id, const shears_parameters *parameters, shears_criterion **out,
                                  char *message, size_t message_size) {
    (void)parameters;
    if (!out) return SHEARS_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    if (!id || strcmp(id, wanda_descriptor.id) != 0) {
        if (message && message_size > 0) snprintf(message, message_size, "wanda: no criterion '%s'", id ? id : "");
        return SHEARS_STATUS_NOT_FOUND;
    }
    const shears_host *host = atomic_load(&wanda_host);
    if (!host) {
        if (message && message_size > 0) snprintf(message, message_size, "wanda: create called before init");
        return SHEARS_STATUS_INTERNAL;
    }
    shears_criterion *criterion = host->alloc(host, sizeof *criterion, alignof(shears_criterion));
    if (!criterion) {
        if (message && message_size > 0) snprintf(message, message_size, "wanda: no memory for an instance");
        return SHEARS_STATUS_OUT_OF_MEMORY;
    }
    *criterion = (shears_criterion){
        .struct_size = sizeof(shears_criterion),
        .criterion_data = (void *)host,
        .destroy = wanda_destroy,
        .score = wanda_instance_score,
        .select = NULL,
        .get_extension = wanda_instance_extension,
    };
    *out = criterion;
    return SHEARS_STATUS_OK;
}

static const shears_plugin_entry wanda_entry = {
    .abi_version = {SHEARS_PLUGIN_ABI_MAJOR, SHEARS_PLUGIN_ABI_MINOR, SHEARS_PLUGIN_ABI_PATCH},
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.examples.wanda",
    .name = "Shears Wanda example (C)",
    .version = "1.0.0",
    .description = "A C re-implementation of the built-in Wanda criterion, the reference example of the "
                   "Shears plugin ABI.",
    .init = wanda_init,
    .deinit = wanda_deinit,
    .criterion_count = wanda_criterion_count,
    .criterion_descriptor = wanda_criterion_descriptor,
    .create_criterion = wanda_create,
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &wanda_entry; }
