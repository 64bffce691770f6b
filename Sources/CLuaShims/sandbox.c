// Building the sandbox: the allowed libraries and globals, text-only `load`, restricted
// `collectgarbage`, `print`/log routed to the host, and the strict global environment.
#include <string.h>
#include "internal.h"

/// Globals kept from the opened libraries; everything else (dofile, loadfile, warn, ...) is removed.
static const char *const allowedGlobals[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
    "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall",
    "_VERSION", "string", "table", "math", "utf8", "coroutine", NULL,
};

static int isAllowedGlobal(lua_State *L, int key) {
    if (lua_type(L, key) != LUA_TSTRING) return 0;
    const char *name = lua_tostring(L, key);
    for (const char *const *allowed = allowedGlobals; *allowed != NULL; allowed++)
        if (strcmp(name, *allowed) == 0) return 1;
    return 0;
}

/// `__index` of the globals table: reading a name that is not a global is an error.
static int unknownGlobal(lua_State *L) {
    return luaL_error(L, "unknown global '%s'", luaL_tolstring(L, 2, NULL));
}

/// `__newindex` of the environment proxy (upvalue 1: the globals table): recipes cannot assign globals.
static int assignGlobal(lua_State *L) {
    const char *name = luaL_tolstring(L, 2, NULL);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return luaL_error(L, "assignment to read-only global '%s'", name);
    return luaL_error(L, "assignment to undeclared global '%s' (declare it with 'local')", name);
}

/// `load(chunk [, chunkname [, mode [, env]]])`, always in text mode; the default environment is
/// the strict proxy. Upvalues: the library's `load`, the environment proxy.
static int textLoad(lua_State *L) {
    int hasEnvironment = !lua_isnone(L, 4);
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *chunk = lua_tostring(L, 1);
        if (chunk[0] == LUA_SIGNATURE[0]) {
            luaL_pushfail(L);
            lua_pushliteral(L, "binary chunks are not allowed (load accepts Lua source text only)");
            return 2;
        }
    } else {
        luaL_checktype(L, 1, LUA_TFUNCTION);
    }
    luaL_optstring(L, 2, NULL);
    luaL_optstring(L, 3, NULL);                     // accepted for compatibility; text is enforced
    lua_settop(L, 4);                               // chunk chunkname mode env
    lua_pushvalue(L, lua_upvalueindex(1));          // load
    lua_pushvalue(L, 1);                            // load chunk
    lua_pushvalue(L, 2);                            // load chunk chunkname
    lua_pushliteral(L, "t");                        // load chunk chunkname "t"
    if (hasEnvironment) lua_pushvalue(L, 4);
    else lua_pushvalue(L, lua_upvalueindex(2));     // load chunk chunkname "t" env
    lua_call(L, 4, 2);                              // function-or-fail message
    return 2;
}

/// `setmetatable(t, mt)` as in the base library, but refusing a metatable with `__gc`.
/// Lua runs finalizers with hooks disabled, so the time limit could not stop one, and a `__gc`
/// added to the metatable later is ignored by Lua; this check therefore rules out script finalizers.
static int guardedSetMetatable(lua_State *L) {
    int metatableType = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, metatableType == LUA_TNIL || metatableType == LUA_TTABLE, 2, "nil or table");
    lua_pushliteral(L, "__gc");
    if (metatableType == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_argerror(L, 2, "__gc metamethods are not allowed in recipes (use a <close> variable)");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/// `collectgarbage([opt])` limited to "collect" and "count": recipes may free handles early and
/// measure memory, but may not stop or retune the collector the host relies on for `__gc`.
static int limitedCollectGarbage(lua_State *L) {
    const char *option = luaL_optstring(L, 1, "collect");
    if (strcmp(option, "collect") == 0) {
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
    if (strcmp(option, "count") == 0) {
        int kilobytes = lua_gc(L, LUA_GCCOUNT);
        int bytes = lua_gc(L, LUA_GCCOUNTB);
        lua_pushnumber(L, (lua_Number)kilobytes + (lua_Number)bytes / 1024);
        return 1;
    }
    return luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' is not available (only 'collect' and 'count')", option));
}

/// `print(...)` and `<module>.log(...)`: tab-separated `tostring` of the arguments, handed to the
/// host's writer; log lines are prefixed with the caller's "chunk:line: ". Upvalue 1: the channel.
static int emit(lua_State *L) {
    CLuaShims_Context *context = CLuaShims_context(L);
    int channel = (int)lua_tointeger(L, lua_upvalueindex(1));
    int count = lua_gettop(L);
    luaL_Buffer line;
    luaL_buffinit(L, &line);
    if (channel == CLuaShims_channelLog) {
        luaL_where(L, 1);
        luaL_addvalue(&line);
    }
    for (int index = 1; index <= count; index++) {
        if (index > 1) luaL_addchar(&line, '\t');
        luaL_tolstring(L, index, NULL);
        luaL_addvalue(&line);
    }
    luaL_pushresult(&line);
    size_t length;
    const char *text = lua_tolstring(L, -1, &length);
    if (context->write != NULL) context->write(context->host, channel, text, length);
    return 0;
}

static void openLibraries(lua_State *L) {
    static const luaL_Reg libraries[] = {
        {LUA_GNAME, luaopen_base}, {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL},
    };
    for (const luaL_Reg *library = libraries; library->func != NULL; library++) {
        luaL_requiref(L, library->name, library->func, 1);
        lua_pop(L, 1);
    }
}

/// Removes every global not in `allowedGlobals`.
static void removeDisallowedGlobals(lua_State *L, int globals) {
    lua_pushnil(L);
    while (lua_next(L, globals)) {                  // key value
        lua_pop(L, 1);                              // key
        if (!isAllowedGlobal(L, -1)) {
            lua_pushvalue(L, -1);                   // key key
            lua_pushnil(L);                         // key key nil
            lua_rawset(L, globals);                 // key
        }
    }
}

/// Removes `string.dump` and hides the string metatable, whose `__index` is the string library.
static void hardenStrings(lua_State *L, int globals) {
    lua_pushliteral(L, "string");
    lua_rawget(L, globals);                         // string
    lua_pushliteral(L, "dump");
    lua_pushnil(L);
    lua_rawset(L, -3);                              // string
    lua_pop(L, 1);
    lua_pushliteral(L, "");                         // ""
    lua_getmetatable(L, -1);                        // "" meta
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);                              // "" meta
    lua_pop(L, 2);
}

/// Pushes the environment proxy: a userdata whose `__index` is the globals table and whose
/// `__newindex` refuses, so scripts can neither assign, `rawset` nor `setmetatable` their globals.
static void pushEnvironment(lua_State *L, int globals) {
    lua_createtable(L, 0, 2);                       // globalsmeta
    lua_pushcfunction(L, unknownGlobal);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, globals);
    lua_newuserdatauv(L, 0, 0);                     // proxy
    lua_createtable(L, 0, 3);                       // proxy meta
    lua_pushvalue(L, globals);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, globals);
    lua_pushcclosure(L, assignGlobal, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);                        // proxy
}

static void setGlobalFunction(lua_State *L, int globals, const char *name, lua_CFunction function, int upvalues) {
    lua_pushcclosure(L, function, upvalues);
    lua_setfield(L, globals, name);                 // safe: raw table until the metatable is set
}

static int openSandbox(lua_State *L) {
    const char *moduleName = lua_tostring(L, 1);
    openLibraries(L);
    lua_pushglobaltable(L);
    int globals = lua_gettop(L);
    lua_getfield(L, globals, "load");               // the library load, kept as an upvalue
    int libraryLoad = lua_gettop(L);
    removeDisallowedGlobals(L, globals);
    hardenStrings(L, globals);

    setGlobalFunction(L, globals, "setmetatable", guardedSetMetatable, 0);
    lua_pushinteger(L, CLuaShims_channelPrint);
    setGlobalFunction(L, globals, "print", emit, 1);
    setGlobalFunction(L, globals, "collectgarbage", limitedCollectGarbage, 0);
    lua_newtable(L);                                // module
    lua_pushinteger(L, CLuaShims_channelLog);
    lua_pushcclosure(L, emit, 1);
    lua_setfield(L, -2, "log");
    lua_setfield(L, globals, moduleName);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, CLuaShims_searchPathKey);

    pushEnvironment(L, globals);                    // ... proxy
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, CLuaShims_environmentKey);
    lua_pushliteral(L, LUA_GNAME);
    lua_pushvalue(L, -2);
    lua_rawset(L, globals);                         // _G is the proxy, not the globals table
    lua_pushliteral(L, "load");
    lua_pushvalue(L, libraryLoad);
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, textLoad, 2);
    lua_rawset(L, globals);
    CLuaShims_openRequire(L, globals);              // pops the proxy
    return 0;
}

int CLuaShims_openSandbox(lua_State *L, const char *moduleName) {
    lua_pushcfunction(L, openSandbox);
    lua_pushstring(L, moduleName);
    return lua_pcall(L, 1, 0, 0);
}
