internal import CLua

/// A borrowed `lua_State *` with the few non-raising operations the Swift side needs.
///
/// Every method here uses only API functions marked `-` or `m` in the Lua manual, and only raw
/// table access, so no Lua error can unwind through Swift. (`m` functions cannot fail either: while
/// Swift runs, the allocator ignores the memory cap and aborts on genuine exhaustion.)
struct LuaState {
    /// The C state.
    let pointer: OpaquePointer

    /// The index of the top value (the number of values on the stack).
    var top: Int32 { lua_gettop(pointer) }

    /// The pseudo-index of the registry.
    static var registryIndex: Int32 { shears_lua_registryindex() }

    /// Ensures room for `count` more values; false if the stack cannot grow.
    func reserve(_ count: Int) -> Bool { count <= 0 || lua_checkstack(pointer, Int32(clamping: count)) != 0 }

    /// Pops `count` values.
    func pop(_ count: Int32 = 1) { shears_lua_pop(pointer, count) }

    /// The absolute index of `index` (which may be relative to the top).
    func absolute(_ index: Int32) -> Int32 { lua_absindex(pointer, index) }

    /// The type of the value at `index`.
    func type(at index: Int32) -> Int32 { lua_type(pointer, index) }

    /// Pushes `text` as a Lua string (bytes copied).
    func push(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = lua_pushlstring(pointer, bytes.baseAddress, bytes.count) }
    }

    /// The string at `index`; numbers are converted in place, as Lua's own checks do; nil otherwise.
    func string(at index: Int32) -> String? {
        let kind = type(at: index)
        guard kind == LUA_TSTRING || kind == LUA_TNUMBER else { return nil }
        var length = 0
        guard let bytes = lua_tolstring(pointer, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// Pushes `table[key]` without metamethods; `table` must be a table. Returns the value's type.
    @discardableResult
    func rawField(_ key: String, of table: Int32) -> Int32 {
        let table = absolute(table)
        push(key)
        return lua_rawget(pointer, table)
    }

    /// Sets `table[key]` to the value on top (popped) without metamethods; `table` must be a table.
    func setRawField(_ key: String, of table: Int32) {
        let table = absolute(table)
        push(key)
        lua_rotate(pointer, -2, 1)
        lua_rawset(pointer, table)
    }

    /// Pushes the registry entry `key` (a namespaced string key).
    @discardableResult
    func registryValue(_ key: String) -> Int32 { rawField(key, of: Self.registryIndex) }

    /// Pushes the globals table.
    func pushGlobals() { lua_rawgeti(pointer, Self.registryIndex, lua_Integer(LUA_RIDX_GLOBALS)) }

    /// The name Lua's error messages use for the value at `index`: the `__name` of its metatable
    /// if it has one (handles), otherwise its type name ("no value" for a missing argument).
    func typeName(at index: Int32) -> String {
        if lua_getmetatable(pointer, index) != 0 {
            defer { pop() }
            if rawField("__name", of: -1) == LUA_TSTRING, let name = string(at: -1) {
                pop()
                return name
            }
            pop()
        }
        if type(at: index) == LUA_TLIGHTUSERDATA { return "light userdata" }
        return String(cString: lua_typename(pointer, type(at: index)))
    }
}
