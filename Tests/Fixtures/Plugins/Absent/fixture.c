/* Fixture: declares SQUARED_NORMS only and checks the views it gets. score = |W_ij| · squared_norms[j];
 * it fails with INVALID_ARGUMENT, naming the view, when `squared_norms` is not a rank-1 f32 view of
 * `columns` elements, or when an undeclared view (`sums`, `variances`, `gram`) is not absent
 * (`data == NULL` and `rank == 0`), as the ABI promises. */
#include "fixture_absent.h"
#include "fixture_support.h"

#include <stdio.h>

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "norms_only",
    .name = "Norms only (absent-views fixture)",
    .version = "1.0.0",
    .description = "|W_ij| * squared_norms[j]; refuses inputs whose undeclared views are not absent.",
    .statistics = SHEARS_STATISTICS_SQUARED_NORMS,
    .flags = SHEARS_CRITERION_THREAD_SAFE,
};

/* Writes why the undeclared view `name` is not absent, or returns OK. */
static shears_status check_absent(const shears_tensor_view *view, const char *name, char *message, size_t message_size) {
    if (view->data == NULL && view->rank == 0) return SHEARS_STATUS_OK;
    if (message && message_size > 0)
        snprintf(message, message_size, "fixture: undeclared view %s is not absent (rank %u, data %p)", name,
                 (unsigned)view->rank, view->data);
    return SHEARS_STATUS_INVALID_ARGUMENT;
}

static shears_status norms_score(const shears_criterion *criterion, const shears_score_input *input, float *scores,
                                 char *message, size_t message_size) {
    (void)criterion;
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status == SHEARS_STATUS_OK) status = check_absent(&input->sums, "sums", message, message_size);
    if (status == SHEARS_STATUS_OK) status = check_absent(&input->variances, "variances", message, message_size);
    if (status == SHEARS_STATUS_OK) status = check_absent(&input->gram, "gram", message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    const shears_tensor_view *norms = &input->squared_norms;
    if (norms->dtype != SHEARS_DTYPE_F32 || norms->rank != 1 || norms->shape[0] != (int64_t)columns || !norms->data ||
        norms->strides[0] <= 0)
        return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size,
                            "fixture: declared view squared_norms is not a rank-1 f32 view of the columns");
    const float *values = norms->data;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j++)
            scores[r * columns + j] =
                __builtin_fabsf(fixture_weight(&input->weight, r, j)) * values[j * (size_t)norms->strides[0]];
    return SHEARS_STATUS_OK;
}

FIXTURE_ONE_CRITERION(descriptor, norms_score, NULL)

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.absent",
    .name = "Fixture: absent views",
    .version = "1.0.0",
    .description = "Declares squared norms only and refuses any undeclared view that is not absent.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
