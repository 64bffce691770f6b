#include "shears_plugin_host.h"

static const shears_version abi_version = {
    SHEARS_PLUGIN_ABI_MAJOR, SHEARS_PLUGIN_ABI_MINOR, SHEARS_PLUGIN_ABI_PATCH
};

/* Hidden: plugins that link this target must not export it (they export only their entry). */
__attribute__((visibility("hidden"))) const shears_version *shears_plugin_abi_version(void) { return &abi_version; }
