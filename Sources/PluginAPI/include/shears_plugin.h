/* Shears plugin ABI 1.1: the one public header for plugin pruning criteria (1.1 adds unit criteria:
 * `SHEARS_CRITERION_UNITS`, `shears_unit_input`, `score_units`; plugins built against 1.0 load unchanged).
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
#define SHEARS_PLUGIN_ABI_MINOR 1
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
/** ABI 1.1, unit criteria only: per calibration window w and unit u, ∂L_w/∂g_u at g = 1 for a gate
 *  g_u multiplying the unit's inputs to its reading matrix (attn_output or ffn_down), L_w the mean
 *  next-token NLL of window w alone. */
#define SHEARS_STATISTICS_GATE_GRADIENTS (1u << 3)

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
/** ABI 1.1: the criterion scores structural units (query heads, KV groups, FFN channels) through
 *  its instances' `score_units`, which must then be non-NULL; `score` may be NULL. */
#define SHEARS_CRITERION_UNITS (1u << 1)

/* ---------------------------------------------------------------------------------------------
 * Structural units (ABI 1.1)
 * ------------------------------------------------------------------------------------------- */

/** The kind of unit a `shears_unit_input` describes. */
typedef int32_t shears_unit_kind;
/** Query heads: head h owns rows h·head_dim… of attn_q and columns h·head_dim… of attn_output. */
#define SHEARS_UNIT_QUERY_HEADS 1
/** KV groups: group g owns rows g·head_dim… of attn_k and attn_v, and its group_size query heads
 *  (rows of attn_q and columns of attn_output, g·group_size·head_dim…). */
#define SHEARS_UNIT_KV_GROUPS 2
/** FFN channels: channel c owns row c of ffn_gate and ffn_up and column c of ffn_down. */
#define SHEARS_UNIT_FFN_CHANNELS 3

/** Everything a unit criterion sees about one layer's units of one kind. Views are borrowed for
 *  the call, F32, rank-2 matrices `[out, in]` row-major as the model holds them (q/k rows in GGUF
 *  order: each head's rotary pairs interleaved). */
typedef struct shears_unit_input {
    /** sizeof(shears_unit_input) as the host compiled it. */
    uint32_t struct_size;
    /** Decoder layer index (0-based). */
    int32_t layer;
    /** SHEARS_UNIT_*. */
    shears_unit_kind kind;
    /** Units of this kind in the layer: the scores to write. */
    uint32_t unit_count;
    /** Input channels of `output` per unit: head_dim, group_size·head_dim or 1. */
    uint32_t unit_width;
    /** Query heads per KV group (0 for FFN channels). */
    uint32_t group_size;
    /** Rows of a query head or KV head in attn_q/attn_k/attn_v (0 for FFN channels). */
    uint32_t head_dim;
    /** The matrices whose rows the units own: attn_q, attn_k, attn_v (attention units) or
     *  ffn_gate, ffn_up and an absent view (FFN channels); each [rows, hidden]. */
    shears_tensor_view inputs[3];
    /** The matrix whose columns the units own: attn_output or ffn_down, [hidden, unit_count·unit_width]. */
    shears_tensor_view output;
    /** Per input channel j of `output` over the dense stream: the mean over windows of Σ_t x_tj²
     *  (H3's `squared_norms`), rank 1 [unit_count·unit_width], absent unless SQUARED_NORMS. */
    shears_tensor_view squared_norms;
    /** Gate gradients, rank 2 [windows, unit_count] (see SHEARS_STATISTICS_GATE_GRADIENTS),
     *  absent unless GATE_GRADIENTS was declared. */
    shears_tensor_view gate_gradients;
    /** Calibration sequences behind the statistics. */
    uint64_t calibration_sequences;
    /** Calibration tokens behind the statistics. */
    uint64_t calibration_tokens;
} shears_unit_input;

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

    /** ABI 1.1, required with SHEARS_CRITERION_UNITS (NULL otherwise): writes one score per unit
     *  of `input` into `scores` (`unit_count` floats, host-allocated); the lowest units are
     *  removed first. Scores must not be NaN. [instance] */
    shears_status (*score_units)(const struct shears_criterion *criterion, const shears_unit_input *input,
                                 float *scores, char *message, size_t message_size);
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
