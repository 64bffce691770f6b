/* Host-private part of the Shears plugin API: declarations the host (Sources/PluginHost) uses and
 * plugins must not. Plugins include only shears_plugin.h; nothing declared here is available to a
 * plugin built outside this package (the symbols are hidden inside the host binary), so a plugin
 * calling them would fail to load. */
#ifndef SHEARS_PLUGIN_HOST_H
#define SHEARS_PLUGIN_HOST_H

#include "shears_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this host speaks (SHEARS_PLUGIN_ABI_MAJOR.MINOR.PATCH). Hidden visibility: not
 *  exported from the host, nor from a plugin that happens to link the PluginAPI target. */
const shears_version *shears_plugin_abi_version(void);

#ifdef __cplusplus
}
#endif

#endif
