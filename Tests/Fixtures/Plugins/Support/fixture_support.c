/* Conforming plugin plumbing shared by the fixtures. */
#include "fixture_support.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic(const shears_host *) latest_host;
static atomic_uint loads;

/* What `criterion_data` points to: the instance itself, its host and the fixture's data. */
typedef struct fixture_instance {
    shears_criterion criterion;
    const shears_host *host;
    void *data;
} fixture_instance;

const shears_host *fixture_host(void) { return atomic_load(&latest_host); }

shears_status fixture_init(const shears_host *host, char *message, size_t message_size) {
    if (!host || !host->alloc || !host->free)
        return fixture_fail(SHEARS_STATUS_UNSUPPORTED, message, message_size, "fixture: host lacks alloc/free");
    atomic_store(&latest_host, host);
    unsigned live = atomic_fetch_add(&loads, 1) + 1;
    if (host->log) {
        char line[64];
        snprintf(line, sizeof line, "fixture: init with %u load(s) live", live);
        host->log(host, SHEARS_LOG_DEBUG, line);
    }
    return SHEARS_STATUS_OK;
}

void fixture_deinit(void) {
    if (atomic_fetch_sub(&loads, 1) == 1) atomic_store(&latest_host, NULL);
}

const shears_host *fixture_instance_host(const shears_criterion *criterion) {
    return ((const fixture_instance *)criterion->criterion_data)->host;
}

void *fixture_instance_data(const shears_criterion *criterion) {
    return ((const fixture_instance *)criterion->criterion_data)->data;
}

shears_status fixture_fail(shears_status status, char *message, size_t message_size, const char *text) {
    if (message && message_size > 0) snprintf(message, message_size, "%s", text);
    return status;
}

static void fixture_destroy(shears_criterion *criterion) {
    fixture_instance *instance = criterion->criterion_data;
    instance->host->free(instance->host, instance->data);
    instance->host->free(instance->host, instance);
}

static const void *fixture_extension(const shears_criterion *criterion, const char *id) {
    (void)criterion;
    (void)id;
    return NULL;
}

shears_status fixture_create(const char *expected_id, const char *id, fixture_score_fn score,
                             fixture_select_fn select, void *data, shears_criterion **out, char *message,
                             size_t message_size) {
    const shears_host *host = fixture_host();
    if (out) *out = NULL;
    if (!host) return fixture_fail(SHEARS_STATUS_INTERNAL, message, message_size, "fixture: create called before init");
    if (!out || !id || strcmp(id, expected_id) != 0) {
        host->free(host, data);
        return fixture_fail(out ? SHEARS_STATUS_NOT_FOUND : SHEARS_STATUS_INVALID_ARGUMENT, message, message_size,
                            out ? "fixture: no such criterion" : "fixture: out is NULL");
    }
    fixture_instance *instance = host->alloc(host, sizeof *instance, alignof(fixture_instance));
    if (!instance) {
        host->free(host, data);
        return fixture_fail(SHEARS_STATUS_OUT_OF_MEMORY, message, message_size, "fixture: no memory for an instance");
    }
    instance->host = host;
    instance->data = data;
    instance->criterion = (shears_criterion){
        .struct_size = sizeof(shears_criterion),
        .criterion_data = instance,
        .destroy = fixture_destroy,
        .score = score,
        .select = select,
        .get_extension = fixture_extension,
    };
    *out = &instance->criterion;
    return SHEARS_STATUS_OK;
}

shears_status fixture_check_weight(const shears_score_input *input, size_t *rows, size_t *columns, char *message,
                                   size_t message_size) {
    if (!input || input->struct_size < offsetof(shears_score_input, squared_norms))
        return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size, "fixture: score input too small");
    const shears_tensor_view *weight = &input->weight;
    if (weight->dtype != SHEARS_DTYPE_F32 || weight->rank != 2)
        return fixture_fail(SHEARS_STATUS_UNSUPPORTED, message, message_size, "fixture: weight is not rank-2 f32");
    if (weight->shape[0] < 0 || weight->shape[1] < 0 || weight->strides[0] <= 0 || weight->strides[1] <= 0)
        return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size, "fixture: bad weight shape or strides");
    *rows = (size_t)weight->shape[0];
    *columns = (size_t)weight->shape[1];
    if (*rows > 0 && *columns > 0 && !weight->data)
        return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size, "fixture: weight data is NULL");
    return SHEARS_STATUS_OK;
}

shears_status fixture_magnitude_score(const shears_criterion *criterion, const shears_score_input *input,
                                      float *scores, char *message, size_t message_size) {
    (void)criterion;
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j++) scores[r * columns + j] = __builtin_fabsf(fixture_weight(&input->weight, r, j));
    return SHEARS_STATUS_OK;
}
