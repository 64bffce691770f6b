// The instruction-count hook that enforces the time and instruction budgets and makes every
// exceeded limit (memory included) stop the script for good.
#define _POSIX_C_SOURCE 199309L  // clock_gettime
#include <string.h>
#include <time.h>
#include "internal.h"

/// Instructions between two checks when no smaller instruction budget is set.
static const int defaultHookInterval = 1000;

double CLuaShims_monotonicSeconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

static void limitHook(lua_State *L, lua_Debug *event) {
    (void)event;
    CLuaShims_Context *context = CLuaShims_context(L);
    if (context->limitHit == CLuaShims_limitNone) {
        context->instructionsCounted += context->hookInterval;
        if (context->instructionLimit > 0 && context->instructionsCounted > context->instructionLimit)
            context->limitHit = CLuaShims_limitInstructions;
        else if (context->deadline > 0 && CLuaShims_monotonicSeconds() > context->deadline)
            context->limitHit = CLuaShims_limitTime;
        else
            return;
    }
    // From now on raise at every instruction, so that pcall cannot swallow the stop.
    lua_sethook(L, limitHook, LUA_MASKCOUNT, 1);
    switch (context->limitHit) {
    case CLuaShims_limitTime: lua_pushstring(L, context->timeLimitMessage); break;
    case CLuaShims_limitInstructions: lua_pushstring(L, context->instructionLimitMessage); break;
    default: lua_pushstring(L, context->memoryLimitMessage); break;  // may fail as a memory error: fine too
    }
    lua_error(L);
}

static void copyMessage(char *destination, size_t capacity, const char *message) {
    strncpy(destination, message != NULL ? message : "", capacity - 1);
    destination[capacity - 1] = '\0';
}

void CLuaShims_startRun(lua_State *L, const char *timeLimitMessage, const char *instructionLimitMessage,
                        const char *memoryLimitMessage) {
    CLuaShims_Context *context = CLuaShims_context(L);
    copyMessage(context->timeLimitMessage, sizeof context->timeLimitMessage, timeLimitMessage);
    copyMessage(context->instructionLimitMessage, sizeof context->instructionLimitMessage, instructionLimitMessage);
    copyMessage(context->memoryLimitMessage, sizeof context->memoryLimitMessage, memoryLimitMessage);
    context->limitHit = CLuaShims_limitNone;
    context->refusedAllocations = 0;
    context->instructionsCounted = 0;
    context->deadline = context->timeLimit > 0 ? CLuaShims_monotonicSeconds() + context->timeLimit : 0;
    context->hookInterval = defaultHookInterval;
    if (context->instructionLimit > 0 && context->instructionLimit < defaultHookInterval)
        context->hookInterval = (int)context->instructionLimit;
    if (context->timeLimit > 0 || context->instructionLimit > 0 || context->memoryLimit > 0)
        lua_sethook(L, limitHook, LUA_MASKCOUNT, context->hookInterval);
    else
        lua_sethook(L, NULL, 0, 0);
}
