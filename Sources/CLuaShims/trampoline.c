// The only way Lua calls Swift: a C closure that calls the Swift dispatcher and raises its errors
// from this C frame, after every Swift frame has returned.
#include "internal.h"

static int trampoline(lua_State *L) {
    CLuaShims_Context *context = CLuaShims_context(L);
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
    if (result >= 0) return result;
    if (result == CLuaShims_raiseArgumentError)
        return luaL_argerror(L, context->argumentIndex, lua_tostring(L, -1));
    if (lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);     // error where
        lua_insert(L, -2);    // where error
        lua_concat(L, 2);     // "where: error"
    }
    return lua_error(L);
}

void CLuaShims_pushFunction(lua_State *L, int64_t functionID) {
    lua_pushinteger(L, (lua_Integer)functionID);
    lua_pushcclosure(L, trampoline, 1);
}
