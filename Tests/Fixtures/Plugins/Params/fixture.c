/* Fixture: declares one parameter of each type, with ranges, and makes every value visible:
 *     score = (negate ? -1 : 1) · (f(|W_ij|) · scale + shift),  f = identity ("abs") or square ("square")
 * and logs "fixture: scale=<g> shift=<d> negate=<d> mode=<s>" at INFO in create. Any other mode
 * makes create fail with INVALID_ARGUMENT (a plugin-side validation the host cannot do). */
#include "fixture_params.h"
#include "fixture_support.h"

#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

static const shears_parameter_descriptor parameters[] = {
    {.struct_size = sizeof(shears_parameter_descriptor), .type = SHEARS_PARAMETER_NUMBER, .name = "scale",
     .description = "Multiplies every score.", .default_number = 1, .minimum = 0.5, .maximum = 4},
    {.struct_size = sizeof(shears_parameter_descriptor), .type = SHEARS_PARAMETER_INTEGER, .name = "shift",
     .description = "Added to every score.", .default_number = 0, .minimum = -3, .maximum = 3},
    {.struct_size = sizeof(shears_parameter_descriptor), .type = SHEARS_PARAMETER_BOOLEAN, .name = "negate",
     .description = "Negates every score.", .default_number = 0, .minimum = -INFINITY, .maximum = INFINITY},
    {.struct_size = sizeof(shears_parameter_descriptor), .type = SHEARS_PARAMETER_STRING, .name = "mode",
     .description = "\"abs\" (|w|) or \"square\" (w^2).", .default_string = "abs", .minimum = -INFINITY,
     .maximum = INFINITY},
};

static const shears_criterion_descriptor descriptor = {
    .struct_size = sizeof(shears_criterion_descriptor),
    .id = "params",
    .name = "Parameters (params fixture)",
    .version = "1.0.0",
    .description = "(negate ? -1 : 1) * (f(|W_ij|) * scale + shift) with f = abs or square.",
    .flags = SHEARS_CRITERION_THREAD_SAFE,
    .parameter_count = sizeof parameters / sizeof parameters[0],
    .parameters = parameters,
};

/* The values one instance was created with. */
typedef struct params_values {
    double scale;
    int64_t shift;
    int32_t negate;
    int32_t square;
} params_values;

FIXTURE_ONE_DESCRIPTOR(descriptor)

static shears_status params_score(const shears_criterion *criterion, const shears_score_input *input, float *scores,
                                  char *message, size_t message_size) {
    const params_values *values = fixture_instance_data(criterion);
    size_t rows, columns;
    shears_status status = fixture_check_weight(input, &rows, &columns, message, message_size);
    if (status != SHEARS_STATUS_OK) return status;
    const double sign = values->negate ? -1.0 : 1.0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < columns; j++) {
            double magnitude = fabs((double)fixture_weight(&input->weight, r, j));
            double f = values->square ? magnitude * magnitude : magnitude;
            scores[r * columns + j] = (float)(sign * (f * values->scale + (double)values->shift));
        }
    }
    return SHEARS_STATUS_OK;
}

static shears_status create(const char *id, const shears_parameters *given, shears_criterion **out, char *message,
                            size_t message_size) {
    const shears_host *host = fixture_host();
    if (out) *out = NULL;
    if (!host) return fixture_fail(SHEARS_STATUS_INTERNAL, message, message_size, "fixture: create called before init");
    params_values *values = host->alloc(host, sizeof *values, alignof(params_values));
    if (!values) return fixture_fail(SHEARS_STATUS_OUT_OF_MEMORY, message, message_size, "fixture: no memory");
    const char *mode = NULL;
    shears_status status = host->get_number(host, given, "scale", &values->scale);
    if (status == SHEARS_STATUS_OK) status = host->get_integer(host, given, "shift", &values->shift);
    if (status == SHEARS_STATUS_OK) status = host->get_boolean(host, given, "negate", &values->negate);
    if (status == SHEARS_STATUS_OK) status = host->get_string(host, given, "mode", &mode);
    if (status != SHEARS_STATUS_OK) {
        host->free(host, values);
        return fixture_fail(SHEARS_STATUS_INTERNAL, message, message_size, "fixture: the host did not provide a declared parameter");
    }
    if (!mode || (strcmp(mode, "abs") != 0 && strcmp(mode, "square") != 0)) {
        host->free(host, values);
        if (message && message_size > 0)
            snprintf(message, message_size, "fixture: mode must be \"abs\" or \"square\", got \"%s\"", mode ? mode : "(null)");
        return SHEARS_STATUS_INVALID_ARGUMENT;
    }
    values->square = strcmp(mode, "square") == 0;
    if (host->log) {
        char line[160];
        snprintf(line, sizeof line, "fixture: scale=%g shift=%lld negate=%d mode=%s", values->scale,
                 (long long)values->shift, (int)values->negate, mode);
        host->log(host, SHEARS_LOG_INFO, line);
    }
    return fixture_create(descriptor.id, id, params_score, NULL, values, out, message, message_size);
}

static const shears_plugin_entry entry = {
    .abi_version = FIXTURE_ABI_VERSION,
    .struct_size = sizeof(shears_plugin_entry),
    .id = "org.shears.fixtures.params",
    .name = "Fixture: parameters",
    .version = "1.0.0",
    .description = "Declares a number, an integer, a boolean and a string parameter and shows them in its scores.",
    FIXTURE_ENTRY_CALLBACKS(fixture_init),
};

const shears_plugin_entry *shears_plugin_get_entry(void) { return &entry; }
