/* The unit-criteria example plugin (libShearsUnitsPlugin.so, plugin ABI 1.1). It has no API of its
 * own: it exports only the ABI entry, `shears_plugin_get_entry`, whose type is in shears_plugin.h. */
#ifndef SHEARS_UNITS_PLUGIN_H
#define SHEARS_UNITS_PLUGIN_H

#include "shears_plugin.h"

/** The plugin's entry: two unit criteria, `wanda_sp` and `gate_taylor`. */
SHEARS_PLUGIN_EXPORT const shears_plugin_entry *shears_plugin_get_entry(void);

#endif
