/* Unit criteria (plugin ABI 1.1) as an example: each scores whole query heads, KV groups or FFN
 * channels of one layer through `score_units`.
 *   wanda_sp:    FLAP's Wanda-sp baseline, per input channel j of attn_output/ffn_down
 *                mean_i |W_ij| * sqrt(squared_norms_j), summed over the unit's channels;
 *   gate_taylor: sum over calibration windows of |dL_w/dg| for a gate on the unit (Michel et
 *                al.'s head importance with the absolute value per window).
 * Both equal Shears' built-in `wanda_sp` and `taylor` unit criteria up to float rounding. */
#include "shears_units_plugin.h"

#include <math.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The host vtable from the latest `init` (loads are counted, as in the Wanda example). */
static _Atomic(const shears_host *) units_host;
static atomic_uint units_loads;

static shears_status units_init(const shears_host *host, char *message, size_t message_size) {
    if (!host || !host->alloc || !host->free) {
        if (message && message_size > 0) snprintf(message, message_size, "units: the host vtable lacks alloc/free");
        return SHEARS_STATUS_UNSUPPORTED;
    }
    atomic_store(&units_host, host);
    atomic_fetch_add(&units_loads, 1);
    return SHEARS_STATUS_OK;
}

static void units_deinit(void) {
    if (atomic_fetch_sub(&units_loads, 1) == 1) atomic_store(&units_host, NULL);
}

static const shears_criterion_descriptor units_descriptors[2] = {
    {
        .struct_size = sizeof(shears_criterion_descriptor),
        .id = "wanda_sp",
        .name = "Wanda-sp per unit (C plugin)",
        .version = "1.0.0",
        .description = "Per input channel j of the unit's reading matrix (attn_output or ffn_down), "
                       "mean_i |W_ij| * sqrt(mean over windows of sum_t x_tj^2), summed over the unit's "
                       "channels: FLAP's Wanda-sp baseline (An et al. 2024).",
        .statistics = SHEARS_STATISTICS_SQUARED_NORMS,
        .flags = SHEARS_CRITERION_THREAD_SAFE | SHEARS_CRITERION_UNITS,
    },
    {
        .struct_size = sizeof(shears_criterion_descriptor),
        .id = "gate_taylor",
        .name = "Gate Taylor per unit (C plugin)",
        .version = "1.0.0",
        .description = "Sum over calibration windows of |dL_w/dg| for a gate g on the unit at g = 1 "
                       "(Michel, Levy, Neubig 2019, with the absolute value per window).",
        .statistics = SHEARS_STATISTICS_GATE_GRADIENTS,
        .flags = SHEARS_CRITERION_THREAD_SAFE | SHEARS_CRITERION_UNITS,
    },
};

static uint32_t units_criterion_count(void) { return 2; }

static const shears_criterion_descriptor *units_criterion_descriptor(uint32_t index) {
    return index < 2 ? &units_descriptors[index] : NULL;
}

/* Element (i, j) of a rank-2 view, or element i of a rank-1 one (j = 0). */
static float element(const shears_tensor_view *view, int64_t i, int64_t j) {
    const float *data = view->data;
    return data[i * view->strides[0] + (view->rank == 2 ? j * view->strides[1] : 0)];
}

/* Checks that `view` is an F32 view of `rank`; writes the message otherwise. */
static int readable(const shears_tensor_view *view, uint32_t rank, const char *what, char *message,
                    size_t message_size) {
    if (view->data && view->dtype == SHEARS_DTYPE_F32 && view->rank == rank) return 1;
    snprintf(message, message_size, "units: %s must be a rank-%u f32 view", what, rank);
    return 0;
}

static shears_status score_wanda_sp(const shears_unit_input *input, float *scores, char *message,
                                    size_t message_size) {
    const shears_tensor_view *w = &input->output, *norms = &input->squared_norms;
    if (!readable(w, 2, "the reading matrix", message, message_size) ||
        !readable(norms, 1, "squared_norms", message, message_size))
        return SHEARS_STATUS_UNSUPPORTED;
    const int64_t rows = w->shape[0];
    for (uint32_t unit = 0; unit < input->unit_count; unit++) {
        double total = 0;
        for (uint32_t k = 0; k < input->unit_width; k++) {
            const int64_t j = (int64_t)unit * input->unit_width + k;
            double absolute = 0;
            for (int64_t i = 0; i < rows; i++) absolute += fabs((double)element(w, i, j));
            total += absolute / (double)rows * sqrt((double)element(norms, j, 0));
        }
        scores[unit] = (float)total;
    }
    return SHEARS_STATUS_OK;
}

static shears_status score_gate_taylor(const shears_unit_input *input, float *scores, char *message,
                                       size_t message_size) {
    const shears_tensor_view *gates = &input->gate_gradients;
    if (!readable(gates, 2, "gate_gradients", message, message_size)) return SHEARS_STATUS_UNSUPPORTED;
    for (uint32_t unit = 0; unit < input->unit_count; unit++) {
        double total = 0;
        for (int64_t window = 0; window < gates->shape[0]; window++) total += fabs((double)element(gates, window, unit));
        scores[unit] = (float)total;
    }
    return SHEARS_STATUS_OK;
}

static shears_status units_score_units(const shears_criterion *criterion, const shears_unit_input *input,
                                       float *scores, char *message, size_t message_size) {
    if (!input || input->struct_size < offsetof(shears_unit_input, calibration_tokens)) {
        snprintf(message, message_size, "units: the unit input is too small for ABI 1.1");
        return SHEARS_STATUS_UNSUPPORTED;
    }
    const shears_criterion_descriptor *descriptor = criterion->criterion_data;
    return descriptor == &units_descriptors[0] ? score_wanda_sp(input, scores, message, message_size)
                                               : score_gate_taylor(input, scores, message, message_size);
}

static void units_destroy(shears_criterion *criterion) {
    const shears_host *host = atomic_load(&units_host);
    host->free(host, criterion);
}

static shears_status units_create(const char *id, const shears_parameters *parameters, shears_criterion **out,
                                  char *message, size_t message_size) {
    (void)parameters;
    if (!out) return SHEARS_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    const shears_criterion_descriptor *descriptor = NULL;
    for (uint32_t index = 0; index < 2; index++) {
        if (id && strcmp(id, units_descriptors[index].id) == 0) descriptor = &units_descriptors[index];
    }
    if (!descriptor) {
        snprintf(message, message_size, "units: no criterion '%s'", id ? id : "");
        return SHEARS_STATUS_NOT_FOUND;
    }
    const shears_host *host = atomic_load(&units_host);
    if (!host) {
        snprintf(message, message_size, "units: create called before init");
        return SHEARS_STATUS_INTERNAL;
    }
    shears_criterion *criterion = host->alloc(host, sizeof *criterion, alignof(shears_criterion));
    if (!criterion) {
        snprintf(message, message_size, "units: no memory for an instance");
        return SHEARS_STATUS_OUT_OF_MEMORY;
    }
    *criterion = (shears_criterion){
        .struct_size = sizeof(shears_criterion),
        .criterion_data = (void *)descriptor,
        .destroy = units_destroy,
        .score_units = units_score_units,
    };
    *out = criterion;
    return SHEARS_STATUS_OK;
}

static const shears_plugin_entry units_entry = {
    .abi_version = {SHEARS_PLUGIN_ABI_MAJOR, SHEARS_PLUGIN_ABI_MINOR, SHEARS_PLUGIN_ABI_PATCH},
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.examples.units",
    .name = "Shears unit criteria example (C)",
    .version = "1.0.0",
    .description = "Unit criteria (plugin ABI 1.1): Wanda-sp and the gate Taylor score of whole heads, "
                   "KV groups and FFN channels.",
    .init = units_init,
    .deinit = units_deinit,
    .criterion_count = units_criterion_count,
    .criterion_descriptor = units_criterion_descriptor,
    .create_criterion = units_create,
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &units_entry; }
