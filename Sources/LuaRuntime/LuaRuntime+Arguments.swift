internal import CLua
internal import CLuaShims

/// Registry key of the metatable of `shears.args` (its `__index` holds the helpers).
private let argumentsMetatableKey = "shears.runtime.argumentsMetatable"

extension LuaRuntime {
    /// Sets `shears.args` for the next run.
    func setArguments(_ arguments: RecipeArguments) {
        let state = self.state
        let lua = state.pointer
        lua_createtable(lua, Int32(clamping: arguments.positional.count), Int32(clamping: arguments.named.count))
        for (key, value) in arguments.named {
            state.push(value)
            state.setRawField(key, of: -2)
        }
        for (index, value) in arguments.positional.enumerated() {
            state.push(value)
            lua_rawseti(lua, -2, lua_Integer(index + 1))
        }
        state.registryValue(argumentsMetatableKey)
        lua_setmetatable(lua, -2)
        state.pushGlobals()
        state.rawField(configuration.moduleName, of: -1)
        lua_rotate(lua, -3, -1) // globals module args
        state.setRawField("args", of: -2)
        state.pop(2)
    }

    /// Builds the metatable of `shears.args` with the `number`, `integer`, `boolean` and `string` helpers.
    func installArgumentHelpers() {
        let state = self.state
        let lua = state.pointer
        lua_createtable(lua, 0, 1) // meta
        lua_createtable(lua, 0, 4) // meta helpers
        let helpers: [(String, LuaFunction)] = [
            ("string", Self.stringArgument),
            ("number", Self.numberArgument),
            ("integer", Self.integerArgument),
            ("boolean", Self.booleanArgument),
        ]
        for (name, helper) in helpers {
            CLuaShims_pushFunction(lua, bindings.add(helper))
            state.setRawField(name, of: -2)
        }
        state.setRawField("__index", of: -2) // meta
        state.setRawField(argumentsMetatableKey, of: LuaState.registryIndex)
    }

    /// `args:string(name [, default])`.
    private static func stringArgument(_ call: LuaCall) throws -> [LuaValue] {
        try argument(call, convert: { text in .string(text) }, fallback: { .string(try call.string(3)) })
    }

    /// `args:number(name [, default])`: Lua's number syntax, keeping the integer or float subtype.
    private static func numberArgument(_ call: LuaCall) throws -> [LuaValue] {
        try argument(
            call,
            convert: { text in
                guard let number = parseNumber(text, call.state) else { throw invalid(call, "a number", text) }
                return number.value
            },
            fallback: { .number(try call.number(3)) }
        )
    }

    /// `args:integer(name [, default])`: accepts any number with an integral value ("1e3").
    private static func integerArgument(_ call: LuaCall) throws -> [LuaValue] {
        try argument(
            call,
            convert: { text in
                guard let integer = parseNumber(text, call.state)?.integer else {
                    throw invalid(call, "an integer", text)
                }
                return .integer(integer)
            },
            fallback: { .integer(try call.integer(3)) }
        )
    }

    /// `args:boolean(name [, default])`: true/false, yes/no, on/off, 1/0, in any case.
    private static func booleanArgument(_ call: LuaCall) throws -> [LuaValue] {
        try argument(
            call,
            convert: { text in
                switch text.lowercased() {
                case "true", "yes", "on", "1": return .boolean(true)
                case "false", "no", "off", "0": return .boolean(false)
                default: throw invalid(call, "true or false", text)
                }
            },
            fallback: { .boolean(try call.boolean(3)) }
        )
    }

    /// `args:helper(name [, default])`: converts `args[name]` with `convert`; if it is absent,
    /// returns the default (checked by `fallback`), or raises if no default was given.
    private static func argument(
        _ call: LuaCall,
        convert: (String) throws -> LuaValue,
        fallback: () throws -> LuaValue
    ) throws -> [LuaValue] {
        let arguments = try call.table(1)
        let name = try call.string(2)
        if let text = try arguments.optionalString(name) { return [try convert(text)] }
        guard !call.isNil(3) else { throw LuaScriptError("missing argument '\(name)' (pass \(name)=VALUE)") }
        return [try fallback()]
    }

    private static func invalid(_ call: LuaCall, _ expected: String, _ text: String) -> LuaScriptError {
        let name = (try? call.string(2)) ?? "?"
        return LuaScriptError("argument '\(name)' must be \(expected), got '\(text)'")
    }

    /// Parses `text` with Lua's own number syntax (as `tonumber` does, keeping the integer or
    /// float subtype); `integer` is set when the value is integral ("1e3" gives 1000).
    private static func parseNumber(_ text: String, _ state: LuaState) -> (value: LuaValue, integer: Int?)? {
        guard state.reserve(1), text.withCString({ lua_stringtonumber(state.pointer, $0) }) != 0 else { return nil }
        defer { state.pop() }
        var isInteger: Int32 = 0
        let integer = lua_tointegerx(state.pointer, -1, &isInteger)
        let value: LuaValue =
            lua_isinteger(state.pointer, -1) != 0
            ? .integer(Int(integer)) : .number(lua_tonumberx(state.pointer, -1, nil))
        return (value, isInteger != 0 ? Int(integer) : nil)
    }
}
