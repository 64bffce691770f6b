/* Fixture: a criterion with its own `select`. Scores are |W_ij|; select prunes, in every row, the
 * Int(columns · sparsity) lowest scores (ties: lower column first), or with an N:M pattern the N
 * lowest of every M consecutive columns. With `miscount = true` it keeps one weight too many in the
 * first row that has any pruned, so the host's count check must fail. */
#include "fixture_select.h"
#include "fixture_support.h"

#include <math.h>
#include <stdalign.h>
#include <stdlib.h>

static const shears_parameter_descriptor parameters[] = {
    {.struct_size = sizeof(shears_parameter_descriptor), .type = SHEARS_PARAMETER_BOOLEAN, .name = "miscount",
     .description = "Prune one weight too few (to test the host's count check).", .default_number = 0,
     .minimum = -INFINITY, .maximum = INFINITY},
};

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "row_select",
    .name = "Row select (select fixture)",
    .version = "1.0.0",
    .description = "|W_ij| with the plugin's own row-wise / N:M selection.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
    .parameter_count = 1,
    .parameters = parameters,
};

/* A score with its column, sorted ascending by score then column. */
typedef struct ranked {
    float score;
    uint32_t column;
} ranked;

static int ranked_order(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->column < y->column ? -1 : (x->column > y->column);
}

FIXTURE_ONE_DESCRIPTOR(descriptor)

/* Flags the `prune` lowest of `count` scores starting at column `first` of one row. */
static void select_lowest(const float *row, size_t first, size_t count, size_t prune, ranked *order, uint8_t *mask) {
    for (size_t j = 0; j < count; j++) order[j] = (ranked){row[first + j], (uint32_t)(first + j)};
    qsort(order, count, sizeof *order, ranked_order);
    for (size_t j = 0; j < prune; j++) mask[order[j].column] = 1;
}

static shears_status row_select(const shears_criterion *criterion, const shears_score_input *input,
                                const float *scores, uint8_t *mask, char *message, size_t message_size) {
    const int32_t *miscount = fixture_instance_data(criterion);
    const shears_host *host = fixture_instance_host(criterion);
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    const size_t n = (size_t)(input->pattern_n > 0 ? input->pattern_n : 0);
    const size_t m = (size_t)(input->pattern_m > 0 ? input->pattern_m : 0);
    if (m > 0 && (n > m || columns % m != 0))
        return fixture_fail(SHEARS_STATUS_INVALID_ARGUMENT, message, message_size, "fixture: pattern does not fit the columns");
    if (columns > UINT32_MAX)
        return fixture_fail(SHEARS_STATUS_UNSUPPORTED, message, message_size, "fixture: too many columns");
    ranked *order = host->alloc(host, (columns ? columns : 1) * sizeof *order, alignof(ranked));
    if (!order) return fixture_fail(SHEARS_STATUS_OUT_OF_MEMORY, message, message_size, "fixture: no memory");
    int pending_miscount = *miscount;
    for (size_t r = 0; r < rows; r++) {
        const float *row = scores + r * columns;
        uint8_t *row_mask = mask + r * columns;
        for (size_t j = 0; j < columns; j++) row_mask[j] = 0;
        if (m > 0) {
            for (size_t g = 0; g < columns; g += m) select_lowest(row, g, m, n, order, row_mask);
        } else {
            select_lowest(row, 0, columns, (size_t)((double)columns * input->sparsity), order, row_mask);
        }
        if (pending_miscount) {
            for (size_t j = 0; j < columns; j++) {
                if (row_mask[j]) {
                    row_mask[j] = 0;
                    pending_miscount = 0;
                    break;
                }
            }
        }
    }
    host->free(host, order);
    return SHEARS_STATUS_OK;
}

static shears_status create(const char *id, const shears_parameters *given, shears_criterion **out, char *message,
                            size_t message_size) {
    const shears_host *host = fixture_host();
    if (out) *out = NULL;
    if (!host) return fixture_fail(SHEARS_STATUS_INTERNAL, message, message_size, "fixture: create called before init");
    int32_t *miscount = host->alloc(host, sizeof *miscount, alignof(int32_t));
    if (!miscount) return fixture_fail(SHEARS_STATUS_OUT_OF_MEMORY, message, message_size, "fixture: no memory");
    if (host->get_boolean(host, given, "miscount", miscount) != SHEARS_STATUS_OK) {
        host->free(host, miscount);
        return fixture_fail(SHEARS_STATUS_INTERNAL, message, message_size, "fixture: the host did not provide miscount");
    }
    return fixture_create(descriptor.id, id, fixture_magnitude_score, row_select, miscount, out, message, message_size);
}

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.select",
    .name = "Fixture: select",
    .version = "1.0.0",
    .description = "A magnitude criterion with its own select (optionally miscounting).",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
