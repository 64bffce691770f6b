// The only way Lua calls Swift: a C closure that calls the Swift dispatcher and raises its errors
// from this C frame, after every Swift frame has returned.
#include "internal.h"

#include <string.h>

/// Calls the Swift function of upvalue 1 and returns its result count or raise sentinel.
static int dispatch(lua_State *L, CLuaShims_Context *context) {
    int64_t functionID = (int64_t)lua_tointeger(L, lua_upvalueindex(1));
    // While Swift runs, it allocates freely (the cap applies again once it returns) and the
    // collector is stopped, so that no script finalizer runs outside the limits.
    int enforced = context->enforceLimits;
    int collecting = lua_gc(L, LUA_GCISRUNNING) == 1;
    context->enforceLimits = 0;
    if (collecting) lua_gc(L, LUA_GCSTOP);
    int result = context->dispatch(L, context->host, functionID);
    if (collecting) lua_gc(L, LUA_GCRESTART);
    context->enforceLimits = enforced;
    return result;
}

/// Raises the error on top of the stack, prefixing a string message with the caller's position.
static int raise(lua_State *L) {
    if (lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);     // error where
        lua_insert(L, -2);    // where error
        lua_concat(L, 2);     // "where: error"
    }
    return lua_error(L);
}

static int trampoline(lua_State *L) {
    CLuaShims_Context *context = CLuaShims_context(L);
    int result = dispatch(L, context);
    if (result >= 0) return result;
    if (result == CLuaShims_raiseArgumentError)
        return luaL_argerror(L, context->argumentIndex, lua_tostring(L, -1));
    return raise(L);
}

/// "bad argument" for a `__call` metamethod, whose stack argument 1 is the called value itself:
/// Lua's `luaL_argerror` does not know that, so the argument is numbered as the caller wrote it.
/// The function is named as the caller named it (`crit{...}` gives 'crit'), or by the called
/// value's type name when the call has no name (`p:criterion("x"){...}`).
static int callArgumentError(lua_State *L, int stackArgument, const char *detail) {
    int argument = stackArgument - 1;
    lua_Debug frame;
    const char *name = NULL;
    if (lua_getstack(L, 0, &frame) && lua_getinfo(L, "n", &frame)) {
        name = frame.name;
        if (frame.namewhat != NULL && strcmp(frame.namewhat, "method") == 0) argument--;  // `t:f(...)`: t is self
    }
    if (name == NULL) name = luaL_getmetafield(L, 1, "__name") == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    if (argument < 1) return luaL_error(L, "calling '%s' on bad self (%s)", name, detail);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", argument, name, detail);
}

static int callTrampoline(lua_State *L) {
    CLuaShims_Context *context = CLuaShims_context(L);
    int result = dispatch(L, context);
    if (result >= 0) return result;
    if (result == CLuaShims_raiseArgumentError)
        return callArgumentError(L, context->argumentIndex, lua_tostring(L, -1));
    return raise(L);
}

void CLuaShims_pushFunction(lua_State *L, int64_t functionID) {
    lua_pushinteger(L, (lua_Integer)functionID);
    lua_pushcclosure(L, trampoline, 1);
}

void CLuaShims_pushCallMetamethod(lua_State *L, int64_t functionID) {
    lua_pushinteger(L, (lua_Integer)functionID);
    lua_pushcclosure(L, callTrampoline, 1);
}
