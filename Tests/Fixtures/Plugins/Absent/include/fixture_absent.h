/* Fixture plugin Absent: exports only `shears_plugin_get_entry` (see fixture.c for its behaviour). */
#ifndef SHEARS_FIXTURE_ABSENT_H
#define SHEARS_FIXTURE_ABSENT_H

#include "shears_plugin.h"

/** The fixture's entry. */
SHEARS_PLUGIN_EXPORT const shears_plugin_entry *shears_plugin_get_entry(void);

#endif
