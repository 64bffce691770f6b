/* Fixture plugin NoEntry: a shared library without the Shears entry symbol. */
#ifndef SHEARS_FIXTURE_NO_ENTRY_H
#define SHEARS_FIXTURE_NO_ENTRY_H

/** The library's only export (returns 42); deliberately not `shears_plugin_get_entry`. */
__attribute__((visibility("default"))) int some_other_symbol(void);

#endif
