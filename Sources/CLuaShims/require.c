// `require(name)`: loads `name.lua` (dots become '/') from the host's ordered search path (an empty
// directory means the current one), as text, with the strict environment; results are cached in a
// private table. Nothing else is loadable.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

/// Marks a module whose chunk is running (or failed), to report circular requires.
static const char loadingMarker = 0;

/// Refuses names that are not dot-separated words: no paths, no "..", no leading or trailing dot.
static void checkModuleName(lua_State *L, const char *name) {
    size_t length = strlen(name);
    int valid = length > 0 && length <= 200 && name[0] != '.' && name[length - 1] != '.' && strstr(name, "..") == NULL;
    for (const char *c = name; valid && *c != '\0'; c++)
        valid = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
            || *c == '_' || *c == '-' || *c == '.';
    if (!valid)
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid module name '%s': use names such as 'util' or 'lib.util', not paths", name));
}

/// Pushes the contents of the regular file `path` as a userdata buffer and returns its size, or
/// returns -1 (pushing nothing) if there is no such file. Raises on other read failures.
static long pushFileContents(lua_State *L, const char *path) {
    struct stat info;
    if (stat(path, &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return -1;
        luaL_error(L, "cannot read '%s': %s", path, strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) luaL_error(L, "cannot read '%s': not a regular file", path);
    size_t size = (size_t)info.st_size;
    char *buffer = lua_newuserdatauv(L, size > 0 ? size : 1, 0);  // collected even if we raise below
    FILE *file = fopen(path, "rb");
    if (file == NULL) luaL_error(L, "cannot read '%s': %s", path, strerror(errno));
    size_t read = fread(buffer, 1, size, file);
    int failed = ferror(file) || read != size;
    fclose(file);
    if (failed) luaL_error(L, "cannot read '%s': read failed", path);
    return (long)size;
}

/// Upvalues: the cache table, the environment proxy.
static int requireModule(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);                               // name
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(1));             // name cached
    if (lua_touserdata(L, 2) == &loadingMarker)
        return luaL_error(L, "module '%s' is being loaded (circular require) or failed to load", name);
    if (!lua_isnil(L, 2)) return 1;
    lua_pop(L, 1);                                  // name
    checkModuleName(L, name);
    const char *relative = luaL_gsub(L, name, ".", "/");        // name relative
    lua_getfield(L, LUA_REGISTRYINDEX, CLuaShims_searchPathKey); // name relative dirs
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    lua_Integer directories = (lua_Integer)lua_rawlen(L, 3);
    const char *path = NULL;
    long size = -1;
    for (lua_Integer index = 1; index <= directories && size < 0; index++) {
        lua_rawgeti(L, 3, index);                   // ... buffer? directory
        const char *directory = lua_tostring(L, -1);
        if (directory == NULL || *directory == '\0') path = lua_pushfstring(L, "%s.lua", relative);
        else path = lua_pushfstring(L, "%s/%s.lua", directory, relative);
        lua_remove(L, -2);                          // ... path
        size = pushFileContents(L, path);           // ... path [contents]
        if (size < 0) {
            lua_pushfstring(L, "\n\tno file '%s'", path);
            lua_remove(L, -2);
            luaL_addvalue(&tried);
        }
    }
    if (size < 0) {
        luaL_pushresult(&tried);
        return luaL_error(L, "module '%s' not found:%s", name, lua_tostring(L, -1));
    }
    const char *chunkName = lua_pushfstring(L, "@%s", path);    // ... path contents chunkname
    if (luaL_loadbufferx(L, lua_touserdata(L, -2), (size_t)size, chunkName, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s':\n\t%s", name, lua_tostring(L, -1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_setupvalue(L, -2, 1);                       // the chunk's _ENV is the proxy
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, (void *)&loadingMarker);
    lua_rawset(L, lua_upvalueindex(1));             // cache[name] = marker
    lua_pushvalue(L, 1);                            // ... chunk name
    lua_pushstring(L, path);                        // ... chunk name path
    lua_call(L, 2, 1);                              // ... result
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, lua_upvalueindex(1));             // cache[name] = result
    return 1;
}

void CLuaShims_openRequire(lua_State *L, int globals) {
    lua_newtable(L);                                // proxy cache
    lua_insert(L, -2);                              // cache proxy
    lua_pushcclosure(L, requireModule, 2);          // require
    lua_pushliteral(L, "require");
    lua_insert(L, -2);
    lua_rawset(L, globals);
}
