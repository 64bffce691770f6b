// Debian's Lua 5.4, plus static inline re-exports of the macros Swift cannot import.
#ifndef SHEARS_CLUA_SHIM_H
#define SHEARS_CLUA_SHIM_H

#if __has_include(<lua.h>)
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#else
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>
#endif

/// The Lua version string, e.g. "Lua 5.4" (the `LUA_VERSION` macro).
static inline const char *shears_lua_version(void) { return LUA_RELEASE; }

/// The pseudo-index of the registry (the `LUA_REGISTRYINDEX` macro).
static inline int shears_lua_registryindex(void) { return LUA_REGISTRYINDEX; }

/// Pops `n` values (the `lua_pop` macro).
static inline void shears_lua_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }

#endif
