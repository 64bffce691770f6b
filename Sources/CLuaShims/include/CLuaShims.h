// C helpers for the sandboxed Lua runtime: everything that may raise a Lua error (longjmp) lives
// here, so that no Lua error ever unwinds through Swift frames.
#ifndef SHEARS_CLUASHIMS_H
#define SHEARS_CLUASHIMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lua_State lua_State;

/// Returned by a Swift host function instead of a result count: the value on top of the stack is
/// the error; the trampoline prefixes string messages with the caller's `chunk:line: ` and raises it.
#define CLuaShims_raiseError (-1)
/// Returned by a Swift host function instead of a result count: the string on top of the stack is
/// the detail of a "bad argument #n to 'f' (detail)" error; `argumentIndex` in the context is n.
#define CLuaShims_raiseArgumentError (-2)

/// Output channels of `print`, `<module>.log` and Lua warnings.
#define CLuaShims_channelPrint 0
#define CLuaShims_channelLog 1
#define CLuaShims_channelWarning 2

/// Which limit stopped the running script (`CLuaShims_Context.limitHit`).
#define CLuaShims_limitNone 0
#define CLuaShims_limitMemory 1
#define CLuaShims_limitTime 2
#define CLuaShims_limitInstructions 3

/// Registry key of the array of directories `require` searches, in order.
#define CLuaShims_searchPathKey "shears.runtime.searchPath"
/// Registry key of the environment proxy every chunk gets as `_ENV`.
#define CLuaShims_environmentKey "shears.runtime.environment"

/// Calls the Swift function `functionID`; returns a result count or one of the raise sentinels.
typedef int (*CLuaShims_Dispatch)(lua_State *L, void *host, int64_t functionID);
/// Receives one line of `print`/log/warning output (without the newline).
typedef void (*CLuaShims_Write)(void *host, int channel, const char *text, size_t length);

/// Per-state host data: allocator accounting, limits, and the Swift callbacks.
///
/// One instance is owned by the Swift runtime; it is the allocator's `ud` and is also stored in
/// the state's extra space, so every thread (coroutine) of the state reaches it.
typedef struct CLuaShims_Context {
    /// Opaque pointer to the Swift object that `dispatch` and `write` receive.
    void *host;
    /// Calls Swift functions registered with the runtime.
    CLuaShims_Dispatch dispatch;
    /// Writes `print`, log and warning output.
    CLuaShims_Write write;

    /// Bytes currently allocated by the state.
    size_t memoryInUse;
    /// The memory cap in bytes, or 0 for none.
    size_t memoryLimit;
    /// Nonzero while script code runs; zero while the host (Swift or setup code) runs, so that an
    /// allocation made from Swift never fails because of the cap.
    int enforceLimits;
    /// One of the `CLuaShims_limit...` values; sticky until the next `CLuaShims_startRun`.
    int limitHit;
    /// Consecutive allocations refused because of the cap.
    int refusedAllocations;

    /// Wall-clock budget of one run in seconds, or 0 for none.
    double timeLimit;
    /// Instruction budget of one run, or 0 for none.
    int64_t instructionLimit;
    /// Monotonic time at which the current run must stop, or 0.
    double deadline;
    /// Instructions counted so far in the current run (in steps of `hookInterval`).
    int64_t instructionsCounted;
    /// Instructions between two limit checks.
    int hookInterval;
    /// Error raised when the time limit is exceeded.
    char timeLimitMessage[128];
    /// Error raised when the instruction limit is exceeded.
    char instructionLimitMessage[128];
    /// Error raised by the hook once the memory cap has been exceeded.
    char memoryLimitMessage[128];

    /// Argument index for `CLuaShims_raiseArgumentError`.
    int argumentIndex;
    /// Pieces of a Lua warning being assembled.
    char warning[512];
    /// Bytes used in `warning`.
    size_t warningLength;
} CLuaShims_Context;

/// Creates a state whose allocator, panic and warning functions use `context`, with the collector
/// stopped (it runs only inside `CLuaShims_callProtected`); NULL if out of memory.
lua_State *CLuaShims_newState(CLuaShims_Context *context);

/// The context of a state created by `CLuaShims_newState`.
CLuaShims_Context *CLuaShims_context(lua_State *L);

/// Builds the sandbox in a protected call: opens base, table, string, math, utf8 and coroutine,
/// keeps only the allowed globals, installs text-only `load`, restricted `collectgarbage`,
/// `setmetatable` without `__gc`, `print`, `require`, the strict `_ENV` proxy, and the module
/// table `moduleName` with `log`.
/// Returns a Lua status; on failure the error message is left on the stack.
int CLuaShims_openSandbox(lua_State *L, const char *moduleName);

/// Copies the limit messages, resets the per-run counters and installs (or removes) the count hook.
void CLuaShims_startRun(lua_State *L, const char *timeLimitMessage, const char *instructionLimitMessage,
                        const char *memoryLimitMessage);

/// `lua_pcall` with a message handler that returns `{message = ..., traceback = {frames}}`, run
/// with the limits enforced and the collector running. Each frame is
/// `{source = ..., line = ..., context = ...}`.
int CLuaShims_callProtected(lua_State *L, int nargs, int nresults);

/// Pushes a Lua function that calls the registered Swift function `functionID` through the trampoline.
void CLuaShims_pushFunction(lua_State *L, int64_t functionID);

/// Pushes a `__call` metamethod that calls the registered Swift function `functionID`: like
/// `CLuaShims_pushFunction`, except that "bad argument" errors number the arguments as the caller
/// wrote them (stack argument 1 is the called value, so stack argument 2 is reported as #1).
void CLuaShims_pushCallMetamethod(lua_State *L, int64_t functionID);

/// Monotonic clock in seconds.
double CLuaShims_monotonicSeconds(void);

#endif
