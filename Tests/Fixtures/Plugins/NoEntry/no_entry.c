/* Fixture: a valid shared library that exports no `shears_plugin_get_entry`, only an unrelated
 * function. The loader must report the missing entry symbol. */
#include "fixture_no_entry.h"

int some_other_symbol(void) { return 42; }
