/* Plugin plumbing for the OBS example: the entry, one criterion with a `damp` parameter, instances. */
#include "obs_score.h"
#include "shears_obs_plugin.h"

#include <math.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The host vtable from the latest `init`, for `create`. A host that loads this file twice shares
 * one copy of these globals (dlopen counts references), so loads are counted and every instance
 * keeps the vtable it was created with (valid until the deinit that follows its destroy). */
static _Atomic(const shears_host *) obs_host;
static atomic_uint obs_loads;

static shears_status obs_init(const shears_host *host, char *message, size_t message_size) {
    if (!host || host->struct_size < offsetof(shears_host, get_string) || !host->alloc || !host->free ||
        !host->get_number) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: the host vtable lacks alloc/free/get_number");
        return SHEARS_STATUS_UNSUPPORTED;
    }
    atomic_store(&obs_host, host);
    atomic_fetch_add(&obs_loads, 1);
    return SHEARS_STATUS_OK;
}

static void obs_deinit(void) {
    if (atomic_fetch_sub(&obs_loads, 1) == 1) atomic_store(&obs_host, NULL);
}

static const shears_parameter_descriptor obs_parameters[] = {
    {
        .struct_size = sizeof(shears_parameter_descriptor),
        .type = SHEARS_PARAMETER_NUMBER,
        .name = "damp",
        .description = "Dampening added to diag(H), as a fraction of its mean (SparseGPT's percdamp).",
        .default_number = 0.01,
        .minimum = 0,
        .maximum = 1,
    },
};

static const shears_criterion_descriptor obs_descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "obs",
    .name = "Optimal Brain Surgeon saliency",
    .version = "1.0.0",
    .description = "w_ij^2 / [(H + damp*mean(diag H)*I)^-1]_jj with H the Gram matrix of the layer input: the "
                   "increase of the layer's squared error when w_ij is removed and the rest of its row is "
                   "re-fitted (the weights themselves are not updated). Hassibi & Stork 1993, 'Second order "
                   "derivatives for network pruning: Optimal Brain Surgeon'; the saliency OBC and SparseGPT "
                   "use to choose masks, with SparseGPT's dampening and dead-channel handling.",
    .statistics = SHEARS_STATISTICS_GRAM,
    .flags = SHEARS_CRITERION_THREAD_SAFE,
    .parameter_count = sizeof obs_parameters / sizeof obs_parameters[0],
    .parameters = obs_parameters,
};

static uint32_t obs_criterion_count(void) { return 1; }

static const shears_criterion_descriptor *obs_criterion_descriptor(uint32_t index) {
    return index == 0 ? &obs_descriptor : NULL;
}

/* An instance's state: its dampening and the host vtable it was created with. */
typedef struct obs_instance {
    shears_criterion criterion;
    const shears_host *host;
    double damp;
} obs_instance;

static shears_status obs_instance_score(const shears_criterion *criterion, const shears_score_input *input,
                                        float *scores, char *message, size_t message_size) {
    const obs_instance *instance = criterion->criterion_data;
    return obs_score(instance->host, instance->damp, input, scores, message, message_size);
}

static void obs_destroy(shears_criterion *criterion) {
    obs_instance *instance = criterion->criterion_data;
    instance->host->free(instance->host, instance);
}

static const void *obs_instance_extension(const shears_criterion *criterion, const char *id) {
    (void)criterion;
    (void)id;
    return NULL;
}

static shears_status obs_create(const char *id, const shears_parameters *parameters, shears_criterion **out,
                                char *message, size_t message_size) {
    if (!out) return SHEARS_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    if (!id || strcmp(id, obs_descriptor.id) != 0) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: no criterion '%s'", id ? id : "");
        return SHEARS_STATUS_NOT_FOUND;
    }
    const shears_host *host = atomic_load(&obs_host);
    if (!host) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: create called before init");
        return SHEARS_STATUS_INTERNAL;
    }
    double damp = 0;
    shears_status status = host->get_number(host, parameters, "damp", &damp);
    if (status != SHEARS_STATUS_OK) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: the host did not provide 'damp' (status %d)", (int)status);
        return SHEARS_STATUS_INTERNAL;
    }
    if (!isfinite(damp) || damp < 0) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: damp must be a finite number >= 0, got %g", damp);
        return SHEARS_STATUS_INVALID_ARGUMENT;
    }
    obs_instance *instance = host->alloc(host, sizeof *instance, alignof(obs_instance));
    if (!instance) {
        if (message && message_size > 0) snprintf(message, message_size, "obs: no memory for an instance");
        return SHEARS_STATUS_OUT_OF_MEMORY;
    }
    instance->host = host;
    instance->damp = damp;
    instance->criterion = (shears_criterion){
        .struct_size = sizeof(shears_criterion),
        .criterion_data = instance,
        .destroy = obs_destroy,
        .score = obs_instance_score,
        .select = NULL,
        .get_extension = obs_instance_extension,
    };
    *out = &instance->criterion;
    return SHEARS_STATUS_OK;
}

static const shears_plugin_entry obs_entry = {
    .abi_version = {SHEARS_PLUGIN_ABI_MAJOR, SHEARS_PLUGIN_ABI_MINOR, SHEARS_PLUGIN_ABI_PATCH},
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.examples.obs",
    .name = "Shears OBS saliency example (C)",
    .version = "1.0.0",
    .description = "The Optimal Brain Surgeon saliency as a mask criterion, from the calibration Gram matrix.",
    .init = obs_init,
    .deinit = obs_deinit,
    .criterion_count = obs_criterion_count,
    .criterion_descriptor = obs_criterion_descriptor,
    .create_criterion = obs_create,
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &obs_entry; }
