// Lua headers and declarations shared by the shim's C files (not part of the public header).
#ifndef SHEARS_CLUASHIMS_INTERNAL_H
#define SHEARS_CLUASHIMS_INTERNAL_H

#if __has_include(<lua.h>)
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#else
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>
#endif

#include "CLuaShims.h"

/// The `lua_Alloc` of every sandboxed state; `ud` is the `CLuaShims_Context`.
void *CLuaShims_allocate(void *ud, void *block, size_t oldSize, size_t newSize);

/// Installs `require` (searching the registry's search path) as global `require`; expects the
/// globals table at `globals` and the environment proxy on top of the stack (popped).
void CLuaShims_openRequire(lua_State *L, int globals);

#endif
