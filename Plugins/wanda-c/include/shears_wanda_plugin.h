/* The Wanda example plugin (libShearsWandaPlugin.so). It has no API of its own: it exports only the
 * ABI entry, `shears_plugin_get_entry`, whose type is in shears_plugin.h. */
#ifndef SHEARS_WANDA_PLUGIN_H
#define SHEARS_WANDA_PLUGIN_H

#include "shears_plugin.h"

/** The plugin's entry: one criterion, `wanda`. */
SHEARS_PLUGIN_EXPORT const shears_plugin_entry *shears_plugin_get_entry(void);

#endif
