/* The Optimal Brain Surgeon saliency example plugin (libShearsOBSPlugin.so). It has no API of its
 * own: it exports only the ABI entry, `shears_plugin_get_entry`, whose type is in shears_plugin.h. */
#ifndef SHEARS_OBS_PLUGIN_H
#define SHEARS_OBS_PLUGIN_H

#include "shears_plugin.h"

/** The plugin's entry: one criterion, `obs`. */
SHEARS_PLUGIN_EXPORT const shears_plugin_entry *shears_plugin_get_entry(void);

#endif
