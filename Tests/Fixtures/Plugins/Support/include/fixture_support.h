/* Shared plumbing of the fixture plugins under Tests/Fixtures/Plugins: each fixture writes out its own
 * entry and descriptor fields (so its misbehaviour is visible in one short file) and uses these
 * helpers and macros for everything it does correctly. Linked statically into each fixture; nothing
 * here is exported. */
#ifndef SHEARS_FIXTURE_SUPPORT_H
#define SHEARS_FIXTURE_SUPPORT_H

#include "shears_plugin.h"

/** The ABI version this header describes, for entries that do not misreport it. */
#define FIXTURE_ABI_VERSION {SHEARS_PLUGIN_ABI_MAJOR, SHEARS_PLUGIN_ABI_MINOR, SHEARS_PLUGIN_ABI_PATCH}

/** A criterion's score function. */
typedef shears_status (*fixture_score_fn)(const shears_criterion *criterion, const shears_score_input *input,
                                          float *scores, char *message, size_t message_size);
/** A criterion's select function. */
typedef shears_status (*fixture_select_fn)(const shears_criterion *criterion, const shears_score_input *input,
                                           const float *scores, uint8_t *mask, char *message, size_t message_size);

/** The host vtable from the latest `fixture_init`, for `create` (NULL before init and after the
 *  last deinit: loads are counted, since a host that loads one file twice shares these globals). */
const shears_host *fixture_host(void);
/** A conforming `init`: keeps `host` and logs "fixture: init with <n> load(s) live" at DEBUG (n > 1
 *  shows a host that ran `init` again without `deinit`). */
shears_status fixture_init(const shears_host *host, char *message, size_t message_size);
/** A conforming `deinit`. */
void fixture_deinit(void);
/** The host vtable an instance was created with. */
const shears_host *fixture_instance_host(const shears_criterion *criterion);
/** The `data` an instance was created with. */
void *fixture_instance_data(const shears_criterion *criterion);

/** Writes `text` into a caller's message buffer (truncated, NUL-terminated) and returns `status`. */
shears_status fixture_fail(shears_status status, char *message, size_t message_size, const char *text);

/** Creates an instance when `id` equals `expected_id` (NOT_FOUND otherwise). `data` (NULL or from
 *  the host's `alloc`) is kept with the instance (`fixture_instance_data`) and freed with it;
 *  `select` may be NULL. On failure `data` is freed too. */
shears_status fixture_create(const char *expected_id, const char *id, fixture_score_fn score,
                             fixture_select_fn select, void *data, shears_criterion **out, char *message,
                             size_t message_size);

/** Checks that `input` holds a rank-2 f32 weight with positive strides and returns OK, or writes why
 *  not. `*rows` and `*columns` receive the shape. */
shears_status fixture_check_weight(const shears_score_input *input, size_t *rows, size_t *columns, char *message,
                                   size_t message_size);

/** The weight element (r, j), honouring the view's strides. */
static inline float fixture_weight(const shears_tensor_view *weight, size_t r, size_t j) {
    const float *data = (const float *)weight->data;
    return data[r * (size_t)weight->strides[0] + j * (size_t)weight->strides[1]];
}

/** Defines the static `criterion_count` and `criterion_descriptor` of a fixture whose one criterion
 *  is `descriptor`. */
#define FIXTURE_ONE_DESCRIPTOR(descriptor)                                                                      \
    static uint32_t criterion_count(void) { return 1; }                                                          \
    static const shears_criterion_descriptor *criterion_descriptor(uint32_t index) {                            \
        return index == 0 ? &(descriptor) : NULL;                                                                \
    }

/** `FIXTURE_ONE_DESCRIPTOR` plus a static `create` whose instances are scored by `score` and
 *  selected by `select` (or NULL), with no instance data and no parameters. */
#define FIXTURE_ONE_CRITERION(descriptor, score, select)                                                        \
    FIXTURE_ONE_DESCRIPTOR(descriptor)                                                                           \
    static shears_status create(const char *id, const shears_parameters *parameters, shears_criterion **out,    \
                                char *message, size_t message_size) {                                            \
        (void)parameters;                                                                                        \
        return fixture_create((descriptor).id, id, (score), (select), NULL, out, message, message_size);        \
    }

/** The callback fields of a fixture's entry: `init` as given, the conforming `fixture_deinit`, and
 *  the fixture's own `criterion_count`, `criterion_descriptor` and `create`. */
#define FIXTURE_ENTRY_CALLBACKS(init_function)                                                                   \
    .init = (init_function), .deinit = fixture_deinit, .criterion_count = criterion_count,                      \
    .criterion_descriptor = criterion_descriptor, .create_criterion = create

/** A conforming magnitude score: `scores[r * columns + j] = |W_rj|`, honouring strides. */
shears_status fixture_magnitude_score(const shears_criterion *criterion, const shears_score_input *input,
                                      float *scores, char *message, size_t message_size);

#endif
