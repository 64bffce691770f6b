// The state's allocator: counts bytes and enforces the memory cap while script code runs.
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"

void *CLuaShims_allocate(void *ud, void *block, size_t oldSize, size_t newSize) {
    CLuaShims_Context *context = ud;
    size_t previous = block != NULL ? oldSize : 0;  // for new blocks oldSize encodes the object type
    if (newSize == 0) {
        free(block);
        context->memoryInUse -= previous;
        return NULL;
    }
    if (newSize > previous && context->enforceLimits && context->memoryLimit > 0) {
        if (context->limitHit == CLuaShims_limitMemory
            || context->memoryInUse - previous + newSize > context->memoryLimit) {
            // Lua answers a failure with an emergency collection and one retry; only a failed
            // retry (or a single request larger than the whole cap) means the script really
            // exceeds the cap. From then on every growth fails (and the limit hook raises), so a
            // script cannot catch the error and carry on.
            context->refusedAllocations += 1;
            int hopeless = newSize - previous > context->memoryLimit || context->refusedAllocations >= 2;
            if (hopeless && context->limitHit == CLuaShims_limitNone) context->limitHit = CLuaShims_limitMemory;
            return NULL;  // Lua raises a memory error inside the protected call
        }
        context->refusedAllocations = 0;
    }
    void *resized = realloc(block, newSize);
    if (resized == NULL) {
        if (context->enforceLimits) return NULL;
        // Host code (Swift) is on the stack: a Lua memory error would longjmp across it.
        fprintf(stderr, "shears: out of memory (%zu bytes requested by the Lua runtime)\n", newSize);
        abort();
    }
    context->memoryInUse = context->memoryInUse - previous + newSize;
    return resized;
}
