/* Shears plugin ABI 1.0: the one public header for plugin pruning criteria.
 *
 * A plugin is a shared library that exports exactly one symbol, `shears_plugin_get_entry`, and
 * links nothing from Shears: everything it needs from the host (logging, memory, its parameter
 * values) comes through the `shears_host` vtable. The numbered contract (SHEARS_PLUG_n MUST/SHOULD
 * rules and what the host does when one is broken) is docs/plugin-abi.md.
 *
 * Conventions used throughout:
 *   - Every name starts with `shears_` / `SHEARS_`. C99, fixed-width types, UTF-8 strings.
 *   - Structs that may grow start with `uint32_t struct_size` (after the version, where there is
 *     one) and only ever grow at the end. A reader never reads past `struct_size`; the host treats
 *     missing trailing fields as zero / NULL.
 *   - Threading annotations in brackets on every function:
 *       [main-thread]      called only from the thread that loaded the plugin, never concurrently;
 *       [thread-safe]      may be called from any thread, concurrently;
 *       [instance]         any thread, at most one call per instance at a time, unless the
 *                          criterion declares SHEARS_CRITERION_THREAD_SAFE (then [thread-safe]).
 *   - Errors are a `shears_status` plus a message the callee writes into a caller-provided buffer
 *     of `message_size` bytes (always NUL-terminated, truncated if needed). Nothing may unwind or
 *     longjmp across the boundary: C++/Rust/Swift plugins catch everything at the edge.
 */
#ifndef SHEARS_PLUGIN_H
#define SHEARS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Version and export macros
 * ------------------------------------------------------------------------------------------- */

/** Major version: a host refuses a plugin built against another major. */
#define SHEARS_PLUGIN_ABI_MAJOR 1
/** Minor version: grows when fields or functions are appended (older plugins keep loading). */
#define SHEARS_PLUGIN_ABI_MINOR 0
/** Patch version: clarifications that change no layout. */
#define SHEARS_PLUGIN_ABI_PATCH 0

/** Marks the one symbol a plugin exports (pair it with -fvisibility=hidden). */
#if defined(_WIN32)
#define SHEARS_PLUGIN_EXPORT __declspec(dllexport)
#else
#define SHEARS_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/** The name of the entry symbol, for hosts that look it up by string. */
#define SHEARS_PLUGIN_ENTRY_SYMBOL "shears_plugin_get_entry"

/** Fixed size of every message buffer the host passes (bytes, including the NUL). */
#define SHEARS_MESSAGE_SIZE 1024

/** A semantic version, the first member of every top-level ABI struct. */
typedef struct shears_version {
    uint32_t major;
    uint32_t minor;
    uint32_t patch;
} shears_version;

/* The ABI version this header describes is SHEARS_PLUGIN_ABI_MAJOR.MINOR.PATCH above; a plugin
 * fills its entry's `abi_version` from these macros. (The host's own function returning it lives in
 * shears_plugin_host.h, which plugins must not include: the symbol exists only inside the host.) */

/* ---------------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------------- */

/** Result of every fallible call. Plugins may return only the values below. */
typedef int32_t shears_status;

/** Success. */
#define SHEARS_STATUS_OK 0
/** An input or parameter value the callee cannot accept (the message says which). */
#define SHEARS_STATUS_INVALID_ARGUMENT 1
/** A feature, dtype or layout the callee does not implement. */
#define SHEARS_STATUS_UNSUPPORTED 2
/** An allocation failed. */
#define SHEARS_STATUS_OUT_OF_MEMORY 3
/** A bug or unexpected state inside the callee. */
#define SHEARS_STATUS_INTERNAL 4
/** A looked-up name (criterion id, parameter) does not exist. */
#define SHEARS_STATUS_NOT_FOUND 5

/* ---------------------------------------------------------------------------------------------
 * Borrowed tensor views
 * ------------------------------------------------------------------------------------------- */

/** Element types of tensor views. ABI 1.0 hosts pass only SHEARS_DTYPE_F32. */
typedef int32_t shears_dtype;
/** IEEE-754 binary32. */
#define SHEARS_DTYPE_F32 1
/** IEEE-754 binary16 (reserved; not passed by 1.0 hosts). */
#define SHEARS_DTYPE_F16 2
/** bfloat16 (reserved; not passed by 1.0 hosts). */
#define SHEARS_DTYPE_BF16 3

/** Maximum rank of a view. */
#define SHEARS_MAX_RANK 4

/** A borrowed, read-only view of a tensor, valid only for the duration of the call it is passed
 *  to. Element (i, j) of a rank-2 view is at `data + (i * strides[0] + j * strides[1])` elements.
 *  Strides are in elements, may be any positive value (views need not be contiguous), and a
 *  plugin must honour them. An absent view has `data == NULL` and `rank == 0`. */
typedef struct shears_tensor_view {
    /** Element type. */
    shears_dtype dtype;
    /** Number of dimensions (0 = absent, 1 = vector, 2 = matrix). */
    uint32_t rank;
    /** Extent of each dimension, outermost first. */
    int64_t shape[SHEARS_MAX_RANK];
    /** Distance between consecutive elements of each dimension, in elements. */
    int64_t strides[SHEARS_MAX_RANK];
    /** First element. */
    const void *data;
} shears_tensor_view;

/* ---------------------------------------------------------------------------------------------
 * Statistics a criterion may ask for
 * ------------------------------------------------------------------------------------------- */

/** Bit set of calibration statistics; 0 means the criterion reads the weight only (no data). */
typedef uint32_t shears_statistics;
/** Per input channel j: `scaler_row[j]` = average over sequences of Σ_t x_tj² (Wanda's ‖X_j‖²/n). */
#define SHEARS_STATISTICS_SQUARED_NORMS (1u << 0)
/** Per input channel: the average over sequences of Σ_t x_tj (seqlen × mean) and the
 *  token-weighted average of per-sequence variances (DSnoT's statistics). */
#define SHEARS_STATISTICS_MOMENTS (1u << 1)
/** The Gram matrix H = (2/n_seq) Σ XᵀX, columns × columns; only the upper triangle (j ≥ i) is
 *  valid: read H[i][j] for i ≤ j. */
#define SHEARS_STATISTICS_GRAM (1u << 2)

/** Everything a criterion sees about one linear matrix `W[rows, columns]` (rows = outputs). */
typedef struct shears_score_input {
    /** sizeof(shears_score_input) as the host compiled it. */
    uint32_t struct_size;
    /** Decoder layer index (0-based). */
    int32_t layer;
    /** GGUF tensor name, e.g. "blk.3.attn_q.weight". */
    const char *tensor_name;
    /** The weight, rank 2: [rows, columns]. */
    shears_tensor_view weight;
    /** `scaler_row`, rank 1 [columns], or absent unless SQUARED_NORMS was declared. */
    shears_tensor_view squared_norms;
    /** Per-sequence sums (seqlen × mean), rank 1 [columns], or absent unless MOMENTS was declared. */
    shears_tensor_view sums;
    /** Per-channel variances, rank 1 [columns], or absent unless MOMENTS was declared. */
    shears_tensor_view variances;
    /** H, rank 2 [columns, columns] (upper triangle valid), or absent unless GRAM was declared. */
    shears_tensor_view gram;
    /** Calibration sequences behind the statistics (0 without data). */
    uint64_t calibration_sequences;
    /** Calibration tokens behind the statistics (0 without data). */
    uint64_t calibration_tokens;
    /** Target fraction of zeros for this matrix, as set by the allocator, in [0, 1). */
    double sparsity;
    /** N of an N:M pattern (N pruned in every M consecutive inputs of a row), 0 if unstructured. */
    int32_t pattern_n;
    /** M of an N:M pattern, 0 if unstructured. */
    int32_t pattern_m;
} shears_score_input;

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */

/** The type of a declared parameter. */
typedef int32_t shears_parameter_type;
/** A finite double. */
#define SHEARS_PARAMETER_NUMBER 1
/** A 64-bit signed integer. */
#define SHEARS_PARAMETER_INTEGER 2
/** A boolean (0 or 1). */
#define SHEARS_PARAMETER_BOOLEAN 3
/** A UTF-8 string. */
#define SHEARS_PARAMETER_STRING 4

/** A parameter a criterion accepts. Names are lower_snake_case and must not be one of the host's
 *  own step options ("sparsity", "pattern", "selector"). The host checks user values against the
 *  type and the [minimum, maximum] range (numbers and integers) before `create`, and fills in
 *  the default for any value the user left out. */
typedef struct shears_parameter_descriptor {
    /** sizeof(shears_parameter_descriptor) as the plugin compiled it. */
    uint32_t struct_size;
    /** The parameter's type. */
    shears_parameter_type type;
    /** Name as written in recipes. */
    const char *name;
    /** One line for `shears plugins`. */
    const char *description;
    /** Default of NUMBER, INTEGER (converted; exact up to 2^53) and BOOLEAN (0 / 1) parameters. */
    double default_number;
    /** Default of STRING parameters (may be NULL for ""). */
    const char *default_string;
    /** Smallest allowed NUMBER / INTEGER value (use -INFINITY for none; ignored for BOOLEAN and
     *  STRING parameters). */
    double minimum;
    /** Largest allowed NUMBER / INTEGER value (use INFINITY for none; ignored for BOOLEAN and
     *  STRING parameters). */
    double maximum;
} shears_parameter_descriptor;

/** Opaque set of parameter values for one criterion instance; read it through the host vtable. */
typedef struct shears_parameters shears_parameters;

/* ---------------------------------------------------------------------------------------------
 * Host services
 * ------------------------------------------------------------------------------------------- */

/** Log severities. */
typedef int32_t shears_log_level;
/** Diagnostic detail (shown with --verbose). */
#define SHEARS_LOG_DEBUG 0
/** Normal progress information. */
#define SHEARS_LOG_INFO 1
/** Something the user should know about. */
#define SHEARS_LOG_WARNING 2
/** A failure (also report it through the returned status). */
#define SHEARS_LOG_ERROR 3

/** Services the host offers; owned by the host and valid from `init` until `deinit` returns. */
typedef struct shears_host {
    /** The host's ABI version. */
    shears_version abi_version;
    /** sizeof(shears_host) as the host compiled it. */
    uint32_t struct_size;
    /** Reserved for the host; a plugin never reads or writes it. */
    void *host_data;
    /** Host name and version, e.g. "shears 0.3.0". */
    const char *host_name;

    /** Writes one line to the host's log, prefixed with the plugin's id. [thread-safe] */
    void (*log)(const struct shears_host *host, shears_log_level level, const char *message);
    /** Allocates `size` bytes aligned to `alignment` (a power of two; values below
     *  sizeof(void *) are rounded up to it); NULL on failure. Free with `free`. [thread-safe] */
    void *(*alloc)(const struct shears_host *host, size_t size, size_t alignment);
    /** Frees memory from `alloc` (NULL is ignored). [thread-safe] */
    void (*free)(const struct shears_host *host, void *pointer);

    /** The value of a NUMBER parameter; NOT_FOUND for an undeclared name, INVALID_ARGUMENT for a
     *  parameter of another type. Valid only inside `create_criterion`. [main-thread] */
    shears_status (*get_number)(const struct shears_host *host, const shears_parameters *parameters,
                                const char *name, double *value);
    /** The value of an INTEGER parameter (same rules as get_number). [main-thread] */
    shears_status (*get_integer)(const struct shears_host *host, const shears_parameters *parameters,
                                 const char *name, int64_t *value);
    /** The value of a BOOLEAN parameter, 0 or 1 (same rules as get_number). [main-thread] */
    shears_status (*get_boolean)(const struct shears_host *host, const shears_parameters *parameters,
                                 const char *name, int32_t *value);
    /** The value of a STRING parameter; the pointer stays valid until `create_criterion` returns
     *  (copy it to keep it). [main-thread] */
    shears_status (*get_string)(const struct shears_host *host, const shears_parameters *parameters,
                                const char *name, const char **value);

    /** An optional host feature by id ("shears.<name>/<revision>"), or NULL. None in 1.0.
     *  [thread-safe] */
    const void *(*get_extension)(const struct shears_host *host, const char *id);
} shears_host;

/* ---------------------------------------------------------------------------------------------
 * Criteria
 * ------------------------------------------------------------------------------------------- */

/** Criterion flags. */
typedef uint32_t shears_criterion_flags;
/** `score` (and `select`) may run concurrently on one instance. */
#define SHEARS_CRITERION_THREAD_SAFE (1u << 0)

/** What a criterion is, readable without creating it. All pointers are owned by the plugin and
 *  stay valid until `deinit`. */
typedef struct shears_criterion_descriptor {
    /** sizeof(shears_criterion_descriptor) as the plugin compiled it. */
    uint32_t struct_size;
    /** Unique within the plugin: [a-z0-9_.-]+, used in recipes (`p:criterion("id")`). */
    const char *id;
    /** Human-readable name. */
    const char *name;
    /** The criterion's own version, e.g. "1.0.0". */
    const char *version;
    /** One paragraph: what it computes and its source (paper, reference code). */
    const char *description;
    /** Statistics the criterion reads (the host gathers exactly these). */
    shears_statistics statistics;
    /** SHEARS_CRITERION_* flags. */
    shears_criterion_flags flags;
    /** Number of entries in `parameters`. */
    uint32_t parameter_count;
    /** Declared parameters (`parameter_count` entries, may be NULL when 0). */
    const shears_parameter_descriptor *parameters;
} shears_criterion_descriptor;

/** A live criterion instance, allocated by the plugin in `create_criterion` and released by its
 *  own `destroy`. The host never interprets `criterion_data`. */
typedef struct shears_criterion {
    /** sizeof(shears_criterion) as the plugin compiled it. */
    uint32_t struct_size;
    /** Reserved for the plugin. */
    void *criterion_data;

    /** Releases the instance (and the struct itself). Called exactly once. [main-thread] */
    void (*destroy)(struct shears_criterion *criterion);

    /** Scores every weight of `input->weight` into `scores`: rows × columns floats, row-major,
     *  contiguous, allocated by the host. Lower scores are pruned first. Every score must be a
     *  number (NaN is an error the host reports; ±Inf are allowed and sort as usual). [instance] */
    shears_status (*score)(const struct shears_criterion *criterion, const shears_score_input *input,
                           float *scores, char *message, size_t message_size);

    /** Optional (NULL: the host selects from the scores with the recipe's selector). Writes one
     *  flag per weight into `mask` (rows × columns bytes, row-major; 1 = prune, 0 = keep) for
     *  `input->sparsity` and the N:M pattern. The host checks the mask: with a pattern, exactly
     *  `pattern_n` pruned in every aligned group of `pattern_m` inputs of a row; unstructured,
     *  rows · floor(columns · sparsity) (per-row choice) or floor(rows · columns · sparsity)
     *  (per-matrix choice) pruned weights in all. [instance] */
    shears_status (*select)(const struct shears_criterion *criterion, const shears_score_input *input,
                            const float *scores, uint8_t *mask, char *message, size_t message_size);

    /** An optional criterion feature by id, or NULL. None in 1.0. [instance] */
    const void *(*get_extension)(const struct shears_criterion *criterion, const char *id);
} shears_criterion;

/* ---------------------------------------------------------------------------------------------
 * The entry
 * ------------------------------------------------------------------------------------------- */

/** What `shears_plugin_get_entry` returns: a static, immutable struct owned by the plugin. */
typedef struct shears_plugin_entry {
    /** The ABI version the plugin was built against (SHEARS_PLUGIN_ABI_*). Checked first. */
    shears_version abi_version;
    /** sizeof(shears_plugin_entry) as the plugin compiled it. */
    uint32_t struct_size;
    /** Reverse-DNS plugin id, e.g. "org.example.wanda". */
    const char *id;
    /** Human-readable name. */
    const char *name;
    /** The plugin's own version. */
    const char *version;
    /** One paragraph about the plugin. */
    const char *description;

    /** Prepares the plugin; `host` stays valid until `deinit` returns. Called once per load
     *  before anything else; on failure the host unloads the library without calling `deinit`.
     *  [main-thread] */
    shears_status (*init)(const shears_host *host, char *message, size_t message_size);
    /** Releases what `init` set up. Called once, after every instance is destroyed. [main-thread] */
    void (*deinit)(void);

    /** Number of criteria. [thread-safe] */
    uint32_t (*criterion_count)(void);
    /** Descriptor `index` (< criterion_count()), or NULL. [thread-safe] */
    const shears_criterion_descriptor *(*criterion_descriptor)(uint32_t index);
    /** Creates an instance of criterion `id` with `parameters` (already checked against the
     *  declaration; read them through `host->get_*`). On success stores the instance in `*out`;
     *  on failure leaves `*out` NULL and writes a message. [main-thread] */
    shears_status (*create_criterion)(const char *id, const shears_parameters *parameters,
                                      shears_criterion **out, char *message, size_t message_size);
} shears_plugin_entry;

/** The one exported symbol: returns the plugin's entry (never NULL). Must be callable before
 *  `init`, cheap and idempotent (every call returns the same pointer); it may run a one-time
 *  initialisation of static data (as Swift globals do) but must not depend on the host.
 *  [thread-safe] */
typedef const shears_plugin_entry *(*shears_plugin_get_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
