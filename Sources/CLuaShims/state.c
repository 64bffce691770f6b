// Creating a state wired to its context: allocator, panic function, warning function.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/// Reached only if a Lua error escapes every protected call, which the runtime never allows.
static int panic(lua_State *L) {
    const char *message = lua_tostring(L, -1);
    fprintf(stderr, "shears: unprotected Lua error: %s\n", message != NULL ? message : "(not a string)");
    abort();
}

/// Assembles warning pieces (errors in `__gc` metamethods) and hands complete ones to the host.
static void warn(void *ud, const char *piece, int continued) {
    CLuaShims_Context *context = ud;
    if (context->warningLength == 0 && !continued && piece[0] == '@') return;  // control message
    size_t length = strlen(piece);
    size_t room = sizeof context->warning - context->warningLength;
    if (length > room) length = room;
    memcpy(context->warning + context->warningLength, piece, length);
    context->warningLength += length;
    if (!continued) {
        if (context->write != NULL) context->write(context->host, CLuaShims_channelWarning, context->warning, context->warningLength);
        context->warningLength = 0;
    }
}

lua_State *CLuaShims_newState(CLuaShims_Context *context) {
    lua_State *L = lua_newstate(CLuaShims_allocate, context);
    if (L == NULL) return NULL;
    *(CLuaShims_Context **)lua_getextraspace(L) = context;
    lua_atpanic(L, panic);
    lua_setwarnf(L, warn, context);
    lua_gc(L, LUA_GCSTOP);  // collection runs only inside CLuaShims_callProtected
    return L;
}

CLuaShims_Context *CLuaShims_context(lua_State *L) {
    return *(CLuaShims_Context **)lua_getextraspace(L);
}
