// Calling into Lua from the host: a protected call whose message handler records a structured
// traceback ({message, traceback = {{source, line, context}, ...}}).
#include "internal.h"

/// Frames kept from the top and from the bottom of a deep stack (as `luaL_traceback` does).
enum { framesFromTop = 10, framesFromBottom = 11 };

/// The deepest valid stack level, found by exponential then binary search (`lua_getstack` is
/// linear in the level, so counting one by one would be quadratic on a deep stack).
static int deepestLevel(lua_State *L) {
    lua_Debug frame;
    int low = 1, high = 1;
    while (lua_getstack(L, high, &frame)) {
        low = high;
        high *= 2;
    }
    while (low < high) {
        int middle = (low + high) / 2;
        if (lua_getstack(L, middle, &frame)) low = middle + 1;
        else high = middle;
    }
    return low - 1;
}

/// Pushes how `luaL_traceback` describes a frame's function: "local 'f'", "main chunk", ...
static void pushFrameContext(lua_State *L, const lua_Debug *frame) {
    if (*frame->namewhat != '\0')
        lua_pushfstring(L, "%s '%s'", frame->namewhat, frame->name);
    else if (*frame->what == 'm')
        lua_pushliteral(L, "main chunk");
    else if (*frame->what != 'C')
        lua_pushfstring(L, "function <%s:%d>", frame->short_src, frame->linedefined);
    else
        lua_pushliteral(L, "?");
}

/// Appends the frame at `level` to the frames table on top of the stack, as element `index`.
static void appendFrame(lua_State *L, int level, int index) {
    lua_Debug frame;
    if (!lua_getstack(L, level, &frame)) return;
    lua_getinfo(L, "Sln", &frame);
    lua_createtable(L, 0, 3);                       // frames frame
    lua_pushstring(L, frame.short_src);
    lua_setfield(L, -2, "source");
    if (frame.currentline > 0) {
        lua_pushinteger(L, frame.currentline);
        lua_setfield(L, -2, "line");
    }
    pushFrameContext(L, &frame);
    lua_setfield(L, -2, "context");
    lua_rawseti(L, -2, index);                      // frames
}

static int messageHandler(lua_State *L) {
    const char *message = lua_tostring(L, 1);
    if (message == NULL) {
        // Script code (a __tostring metamethod) runs here, still under the limits.
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            message = lua_tostring(L, -1);
        else
            message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    // Host code from here: building the report must not fail because of the cap (the caller
    // restores the flag).
    CLuaShims_context(L)->enforceLimits = 0;
    lua_createtable(L, 0, 2);                       // report
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    int deepest = deepestLevel(L);
    lua_createtable(L, deepest, 0);                 // report frames
    int index = 0;
    for (int level = 1; level <= deepest; level++) {
        if (level == framesFromTop + 1 && deepest > framesFromTop + framesFromBottom) {
            int skipped = deepest - framesFromTop - framesFromBottom;
            lua_createtable(L, 0, 2);
            lua_pushliteral(L, "...");
            lua_setfield(L, -2, "source");
            lua_pushfstring(L, "(skipping %d levels)", skipped);
            lua_setfield(L, -2, "context");
            lua_rawseti(L, -2, ++index);
            level += skipped - 1;
            continue;
        }
        appendFrame(L, level, ++index);
    }
    lua_setfield(L, -2, "traceback");               // report
    return 1;
}

int CLuaShims_callProtected(lua_State *L, int nargs, int nresults) {
    CLuaShims_Context *context = CLuaShims_context(L);
    int base = lua_gettop(L) - nargs;               // index of the function
    lua_pushcfunction(L, messageHandler);           // a light C function: no allocation
    lua_insert(L, base);                            // handler function args
    int enforced = context->enforceLimits;
    int collecting = lua_gc(L, LUA_GCISRUNNING) == 1;
    context->enforceLimits = 1;
    if (!collecting) lua_gc(L, LUA_GCRESTART);     // the collector runs only while scripts run
    int status = lua_pcall(L, nargs, nresults, base);
    if (!collecting) lua_gc(L, LUA_GCSTOP);
    context->enforceLimits = enforced;
    lua_remove(L, base);
    return status;
}
