internal import CLua

/// A Swift function callable from Lua: reads its arguments from the call and returns its results.
public typealias LuaFunction = (LuaCall) throws -> [LuaValue]

/// The arguments of one call from Lua into a Swift function.
///
/// Valid only during the call; do not store it. The readers check types the way Lua's `luaL_check*`
/// functions do and throw ``LuaArgumentError``, which the runtime raises as
/// "bad argument #1 to 'load' (string expected, got nil)". Indices are stack indices: for a method
/// (`m:prune(x)`), 1 is `self` and Lua reports argument 2 as #1; for a callable handle
/// (`criterion{...}`), 1 is the handle and argument 2, the caller's first, is reported as #1.
public struct LuaCall {
    let state: LuaState
    let bindings: LuaBindings

    /// The number of arguments passed.
    public let argumentCount: Int

    init(state: LuaState, bindings: LuaBindings, argumentCount: Int32) {
        self.state = state
        self.bindings = bindings
        self.argumentCount = Int(argumentCount)
    }

    /// True if argument `index` is missing or nil.
    public func isNil(_ index: Int) -> Bool { state.type(at: Int32(index)) <= LUA_TNIL }

    /// Whether argument `index` is a function.
    public func isFunction(_ index: Int) -> Bool { state.type(at: Int32(index)) == LUA_TFUNCTION }

    /// The Lua type name of argument `index` as error messages show it ("no value", "nil", "shears.Model").
    public func typeName(_ index: Int) -> String { state.typeName(at: Int32(index)) }

    /// Argument `index` as a string (numbers are converted, as in Lua; invalid UTF-8 is replaced).
    public func string(_ index: Int) throws -> String {
        guard let text = state.string(at: Int32(index)) else { throw typeError(index, expected: "string") }
        return text
    }

    /// Argument `index` as a string, or `defaultValue` if it is missing or nil.
    public func string(_ index: Int, default defaultValue: String) throws -> String {
        isNil(index) ? defaultValue : try string(index)
    }

    /// Argument `index` as an integer: an integer, a float with an exact integer value, or a
    /// numeric string, as Lua's `luaL_checkinteger` accepts.
    public func integer(_ index: Int) throws -> Int {
        var isInteger: Int32 = 0
        let value = lua_tointegerx(state.pointer, Int32(index), &isInteger)
        if isInteger != 0 { return Int(value) }
        if lua_isnumber(state.pointer, Int32(index)) != 0 {
            throw LuaArgumentError(argument: index, "number has no integer representation")
        }
        throw typeError(index, expected: "number")
    }

    /// Argument `index` as an integer, or `defaultValue` if it is missing or nil.
    public func integer(_ index: Int, default defaultValue: Int) throws -> Int {
        isNil(index) ? defaultValue : try integer(index)
    }

    /// Argument `index` as a number (numeric strings are converted, as in Lua).
    public func number(_ index: Int) throws -> Double {
        var isNumber: Int32 = 0
        let value = lua_tonumberx(state.pointer, Int32(index), &isNumber)
        guard isNumber != 0 else { throw typeError(index, expected: "number") }
        return value
    }

    /// Argument `index` as a number, or `defaultValue` if it is missing or nil.
    public func number(_ index: Int, default defaultValue: Double) throws -> Double {
        isNil(index) ? defaultValue : try number(index)
    }

    /// Argument `index` as a boolean; only `true` and `false` are accepted.
    public func boolean(_ index: Int) throws -> Bool {
        guard state.type(at: Int32(index)) == LUA_TBOOLEAN else { throw typeError(index, expected: "boolean") }
        return lua_toboolean(state.pointer, Int32(index)) != 0
    }

    /// Argument `index` as a boolean, or `defaultValue` if it is missing or nil.
    public func boolean(_ index: Int, default defaultValue: Bool) throws -> Bool {
        isNil(index) ? defaultValue : try boolean(index)
    }

    /// Argument `index` as a table, read with raw access (metamethods are ignored).
    public func table(_ index: Int) throws -> LuaTableArgument {
        guard state.type(at: Int32(index)) == LUA_TTABLE else { throw typeError(index, expected: "table") }
        return LuaTableArgument(call: self, argument: index, stackIndex: Int32(index), path: "")
    }

    /// Argument `index` as a table, or nil if it is missing or nil (an options table, say).
    public func optionalTable(_ index: Int) throws -> LuaTableArgument? {
        isNil(index) ? nil : try table(index)
    }

    /// The object behind the handle at argument `index`, checked to be of `type` and still open.
    ///
    /// - Throws: ``LuaArgumentError`` ("shears.Model expected, got string") for another value, and
    ///   ``LuaScriptError`` ("attempt to use a closed shears.Model", "attempt to use an expired
    ///   shears.Tensor (its shears.Model was closed)") for a handle that can no longer be used.
    public func handle<Object: AnyObject>(_ index: Int, as type: LuaHandleType<Object>) throws -> Object {
        guard let id = bindings.handleID(at: Int32(index), typeName: type.name, state: state) else {
            throw typeError(index, expected: type.name)
        }
        switch bindings.handles.state(of: id) {
        case .open(let object):
            guard let object = object as? Object else { throw typeError(index, expected: type.name) }
            return object
        case .closed:
            throw LuaScriptError("attempt to use a closed \(type.name)")
        case .expired(let owner):
            throw LuaScriptError("attempt to use an expired \(type.name) (its \(owner) was closed)")
        }
    }

    /// The object behind the handle at argument `index`, or nil if the argument is missing or nil.
    public func optionalHandle<Object: AnyObject>(_ index: Int, as type: LuaHandleType<Object>) throws -> Object? {
        isNil(index) ? nil : try handle(index, as: type)
    }

    /// "X expected, got Y" for argument `index`.
    func typeError(_ index: Int, expected: String) -> LuaArgumentError {
        LuaArgumentError(argument: index, "\(expected) expected, got \(typeName(index))")
    }

    /// Calls the Lua function at stack `index` with `arguments` in protected mode, ignoring its
    /// results (for callbacks such as `on_layer`).
    ///
    /// - Throws: ``LuaScriptError`` with the callback's error message if it raises.
    public func callFunction(at index: Int32, _ arguments: [LuaValue]) throws {
        try protectedCall(at: index, arguments, results: 0)
    }

    /// Calls the Lua function at stack `index` with `arguments` in protected mode and returns its
    /// first result as a number (numeric strings converted, as in Lua), or nil when that result
    /// is not a number.
    ///
    /// - Throws: ``LuaScriptError`` with the function's error message if it raises.
    public func callFunctionForNumber(at index: Int32, _ arguments: [LuaValue]) throws -> Double? {
        try protectedCall(at: index, arguments, results: 1)
        return numberOnTop()
    }

    /// Calls the function `function` refers to (kept by an earlier call of the same runtime) with
    /// `arguments` in protected mode and returns its first result as a number, or nil when that
    /// result is not a number.
    ///
    /// - Throws: ``LuaScriptError`` with the function's error message if it raises.
    public func callFunctionForNumber(_ function: LuaKeptFunction, _ arguments: [LuaValue]) throws -> Double? {
        guard state.reserve(1) else { throw LuaScriptError("stack overflow") }
        lua_rawgeti(state.pointer, LuaState.registryIndex, lua_Integer(function.reference))
        defer { state.pop() }
        try protectedCall(at: state.top, arguments, results: 1)
        return numberOnTop()
    }

    /// Pops the value on top: a number (numeric strings converted), or nil.
    private func numberOnTop() -> Double? {
        defer { state.pop() }
        var isNumber: Int32 = 0
        let value = lua_tonumberx(state.pointer, -1, &isNumber)
        return isNumber != 0 ? value : nil
    }

    /// Calls the Lua function at stack `index` with `arguments` in protected mode, leaving
    /// `results` results on the stack.
    ///
    /// - Throws: ``LuaScriptError`` with the function's error message if it raises.
    private func protectedCall(at index: Int32, _ arguments: [LuaValue], results: Int32) throws {
        guard state.reserve(arguments.count + 4) else { throw LuaScriptError("stack overflow") }
        lua_pushvalue(state.pointer, index)
        for argument in arguments { try bindings.push(argument, call: self) }
        // lua_pcallk catches the function's errors: nothing unwinds through this Swift frame.
        if lua_pcallk(state.pointer, Int32(arguments.count), results, 0, 0, nil) != LUA_OK {
            let message = state.string(at: -1) ?? "error in Lua function"
            state.pop()
            throw LuaScriptError(message)
        }
    }
}

/// A Lua function kept in the state's registry past the call that received it
/// (``LuaTableArgument/keptFunction(_:)``), callable from a later call into Swift of the same
/// runtime; it lives until the runtime closes.
public struct LuaKeptFunction: Sendable, Equatable {
    /// The registry slot.
    let reference: Int32
}
