/* Shears plugin ABI: the one public header for plugin criteria.
 *
 * The ABI itself (entry point, host services, criterion vtables) is specified in
 * docs/plugin-abi.md; this header starts with the version it implements. */
#ifndef SHEARS_PLUGIN_H
#define SHEARS_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major version: a host refuses a plugin built against another major. */
#define SHEARS_PLUGIN_ABI_MAJOR 0
/** Minor version: grows when fields or functions are appended. */
#define SHEARS_PLUGIN_ABI_MINOR 1
/** Patch version: clarifications that change no layout. */
#define SHEARS_PLUGIN_ABI_PATCH 0

/** A semantic version, the first member of every versioned ABI struct. */
typedef struct shears_version {
    uint32_t major;
    uint32_t minor;
    uint32_t patch;
} shears_version;

/** The ABI version this header describes. */
const shears_version *shears_plugin_abi_version(void);

#ifdef __cplusplus
}
#endif

#endif
