internal import CLua

/// A table argument of a ``LuaCall`` (an options table, a list), read with raw access.
///
/// Errors name the argument and the field, as in
/// "bad argument #2 to 'perplexity' (field 'seqlen' must be an integer, got string)".
/// Metamethods are ignored, so reading never runs script code. Valid only during the call.
public struct LuaTableArgument {
    private let call: LuaCall
    /// The argument index errors are reported against.
    public let argument: Int
    /// The absolute stack index of the table.
    private let stackIndex: Int32
    /// The field path of a nested table (`""` for the argument itself).
    private let path: String

    init(call: LuaCall, argument: Int, stackIndex: Int32, path: String) {
        self.call = call
        self.argument = argument
        self.stackIndex = call.state.absolute(stackIndex)
        self.path = path
    }

    // MARK: Fields

    /// The string field `name` (numbers are converted); throws if it is missing or not a string.
    public func string(_ name: String) throws -> String { try required(name, optionalString(name), "a string") }
    /// The string field `name`, or `defaultValue` if it is nil.
    public func string(_ name: String, default defaultValue: String) throws -> String {
        try optionalString(name) ?? defaultValue
    }
    /// The string field `name`, or nil if it is nil.
    public func optionalString(_ name: String) throws -> String? {
        try read(.field(name), expected: "a string") { call.state.string(at: -1) }
    }

    /// The integer field `name`; throws if it is missing or not an integer.
    public func integer(_ name: String) throws -> Int { try required(name, optionalInteger(name), "an integer") }
    /// The integer field `name`, or `defaultValue` if it is nil.
    public func integer(_ name: String, default defaultValue: Int) throws -> Int {
        try optionalInteger(name) ?? defaultValue
    }
    /// The integer field `name`, or nil if it is nil.
    public func optionalInteger(_ name: String) throws -> Int? {
        try read(.field(name), expected: "an integer", convert: Self.integerOnTop(call.state))
    }

    /// The number field `name`; throws if it is missing or not a number.
    public func number(_ name: String) throws -> Double { try required(name, optionalNumber(name), "a number") }
    /// The number field `name`, or `defaultValue` if it is nil.
    public func number(_ name: String, default defaultValue: Double) throws -> Double {
        try optionalNumber(name) ?? defaultValue
    }
    /// The number field `name`, or nil if it is nil.
    public func optionalNumber(_ name: String) throws -> Double? {
        try read(.field(name), expected: "a number", convert: Self.numberOnTop(call.state))
    }

    /// The boolean field `name`; throws if it is missing or not a boolean.
    public func boolean(_ name: String) throws -> Bool { try required(name, optionalBoolean(name), "a boolean") }
    /// The boolean field `name`, or `defaultValue` if it is nil.
    public func boolean(_ name: String, default defaultValue: Bool) throws -> Bool {
        try optionalBoolean(name) ?? defaultValue
    }
    /// The boolean field `name`, or nil if it is nil.
    public func optionalBoolean(_ name: String) throws -> Bool? {
        try read(.field(name), expected: "a boolean") {
            call.state.type(at: -1) == LUA_TBOOLEAN ? lua_toboolean(call.state.pointer, -1) != 0 : nil
        }
    }

    /// The nested table field `name`, or nil if it is nil. It stays valid until the call returns.
    public func optionalTable(_ name: String) throws -> LuaTableArgument? {
        let key = Key.field(name)
        guard fetch(key) != LUA_TNIL else {
            call.state.pop()
            return nil
        }
        guard call.state.type(at: -1) == LUA_TTABLE else { throw mismatch(key, expected: "a table") }
        // The nested table stays on the stack (below the results) until the call returns.
        return LuaTableArgument(call: call, argument: argument, stackIndex: -1, path: describe(key, quoted: false))
    }

    /// Throws "unknown field 'x'" for a string key not in `allowed` (catches typos in options
    /// tables) and "unexpected key of type number" for other keys.
    /// With `allowingSequence`, the keys 1...count of a list part are accepted too.
    public func checkFields(allowed: Set<String>, allowingSequence: Bool = false) throws {
        let state = call.state
        let length = allowingSequence ? count : 0
        guard state.reserve(3) else { throw LuaScriptError("stack overflow") }
        lua_pushnil(state.pointer)
        while lua_next(state.pointer, stackIndex) != 0 {
            state.pop() // key
            if allowingSequence, state.type(at: -1) == LUA_TNUMBER {
                var isInteger: Int32 = 0
                let key = lua_tointegerx(state.pointer, -1, &isInteger)
                if isInteger != 0, (1...max(length, 1)).contains(Int(key)), length > 0 { continue }
            }
            guard state.type(at: -1) == LUA_TSTRING, let key = state.string(at: -1) else {
                let kind = state.typeName(at: -1)
                state.pop()
                throw LuaArgumentError(
                    argument: argument, "unexpected key of type \(kind)\(path.isEmpty ? "" : " in field '\(path)'")")
            }
            if !allowed.contains(key) {
                state.pop()
                throw LuaArgumentError(argument: argument, "unknown \(describe(.field(key)))")
            }
        }
    }

    // MARK: Sequence

    /// The length of the sequence part (`#t` without metamethods).
    public var count: Int { Int(lua_rawlen(call.state.pointer, stackIndex)) }

    /// Elements 1...count as strings.
    public func strings() throws -> [String] {
        try elements(expected: "a string") { call.state.string(at: -1) }
    }

    /// Elements 1...count as integers.
    public func integers() throws -> [Int] {
        try elements(expected: "an integer", convert: Self.integerOnTop(call.state))
    }

    /// Elements 1...count as numbers.
    public func numbers() throws -> [Double] {
        try elements(expected: "a number", convert: Self.numberOnTop(call.state))
    }

    /// Element `index` as a nested table; throws if it is not a table. Valid until the call returns.
    public func table(at index: Int) throws -> LuaTableArgument {
        let key = Key.element(index)
        guard call.state.reserve(2) else { throw LuaScriptError("stack overflow") }
        guard fetch(key) == LUA_TTABLE else { throw mismatch(key, expected: "a table") }
        return LuaTableArgument(call: call, argument: argument, stackIndex: -1, path: describe(key, quoted: false))
    }

    /// The Lua type name of field `name` (`"nil"`, `"table"`, `"string"`, ...).
    public func typeName(of name: String) -> String {
        guard call.state.reserve(2) else { return "nil" }
        _ = fetch(.field(name))
        defer { call.state.pop() }
        return call.state.typeName(at: -1)
    }

    /// The stack index of field `name` when it is a function, left on the stack until the call
    /// returns so that ``LuaCall/callFunction(at:_:)`` can call it; nil if the field is nil.
    public func function(_ name: String) throws -> Int32? {
        try keptOnStack(.field(name), type: LUA_TFUNCTION, expected: "a function")
    }

    /// Field `name`, a function, kept in the registry so that a later call into Swift of the same
    /// runtime can call it (``LuaCall/callFunctionForNumber(_:_:)``); nil if the field is nil. The
    /// function stays alive until the runtime closes.
    public func keptFunction(_ name: String) throws -> LuaKeptFunction? {
        guard let index = try function(name) else { return nil }
        lua_pushvalue(call.state.pointer, index)
        return LuaKeptFunction(reference: luaL_ref(call.state.pointer, LuaState.registryIndex))
    }

    /// The stack index of field `name` when it is a userdata (a handle), left on the stack until
    /// the call returns so that ``LuaCall/handle(_:as:)`` can check it; nil if the field is nil.
    public func handleIndex(_ name: String) throws -> Int32? {
        try keptOnStack(.field(name), type: LUA_TUSERDATA, expected: "a handle")
    }

    /// The stack index of element `index` when it is a userdata (a handle), left on the stack
    /// until the call returns; nil if the element is nil.
    public func handleIndex(at index: Int) throws -> Int32? {
        try keptOnStack(.element(index), type: LUA_TUSERDATA, expected: "a handle")
    }

    /// Pushes the value at `key` and leaves it on the stack when it has `type` (returning its
    /// index); pops it and returns nil when it is nil; throws otherwise.
    private func keptOnStack(_ key: Key, type: Int32, expected: String) throws -> Int32? {
        guard call.state.reserve(2) else { throw LuaScriptError("stack overflow") }
        let found = fetch(key)
        if found == LUA_TNIL {
            call.state.pop()
            return nil
        }
        guard found == type else { throw mismatch(key, expected: expected) }
        return call.state.top
    }

    // MARK: Reading

    private enum Key {
        case field(String)
        case element(Int)
    }

    /// "field 'seqlen'", "field 'options.layers[3]'", "element #3".
    private func describe(_ key: Key, quoted: Bool = true) -> String {
        let name: String
        switch key {
        case .field(let field): name = path.isEmpty ? field : "\(path).\(field)"
        case .element(let index):
            if path.isEmpty { return quoted ? "element #\(index)" : "[\(index)]" }
            name = "\(path)[\(index)]"
        }
        return quoted ? "field '\(name)'" : name
    }

    /// Pushes the value at `key` (raw) and returns its type.
    private func fetch(_ key: Key) -> Int32 {
        let state = call.state
        switch key {
        case .field(let name): return state.rawField(name, of: stackIndex)
        case .element(let index): return lua_rawgeti(state.pointer, stackIndex, lua_Integer(index))
        }
    }

    /// Reads `key` with `convert` (which inspects the value on top); nil if the value is nil.
    private func read<Value>(_ key: Key, expected: String, convert: () -> Value?) throws -> Value? {
        guard call.state.reserve(2) else { throw LuaScriptError("stack overflow") }
        if fetch(key) == LUA_TNIL {
            call.state.pop()
            return nil
        }
        guard let value = convert() else { throw mismatch(key, expected: expected) }
        call.state.pop()
        return value
    }

    private func elements<Value>(expected: String, convert: () -> Value?) throws -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(count)
        for index in stride(from: 1, through: count, by: 1) {
            guard let value = try read(.element(index), expected: expected, convert: convert) else {
                throw LuaArgumentError(argument: argument, "\(describe(.element(index))) must be \(expected), got nil")
            }
            values.append(value)
        }
        return values
    }

    /// The error for the value on top (popped), which is not what `expected` describes.
    private func mismatch(_ key: Key, expected: String) -> LuaArgumentError {
        let state = call.state
        var got = state.typeName(at: -1)
        if expected == "an integer", state.type(at: -1) == LUA_TNUMBER, let text = state.string(at: -1) {
            got = text // a float without an integer value: show it
        }
        state.pop()
        return LuaArgumentError(argument: argument, "\(describe(key)) must be \(expected), got \(got)")
    }

    private func required<Value>(_ name: String, _ value: Value?, _ expected: String) throws -> Value {
        guard let value else {
            throw LuaArgumentError(argument: argument, "\(describe(.field(name))) must be \(expected), got nil")
        }
        return value
    }

    private static func integerOnTop(_ state: LuaState) -> () -> Int? {
        {
            var isInteger: Int32 = 0
            let value = lua_tointegerx(state.pointer, -1, &isInteger)
            return isInteger != 0 && state.type(at: -1) == LUA_TNUMBER ? Int(value) : nil
        }
    }

    private static func numberOnTop(_ state: LuaState) -> () -> Double? {
        {
            state.type(at: -1) == LUA_TNUMBER ? lua_tonumberx(state.pointer, -1, nil) : nil
        }
    }
}
