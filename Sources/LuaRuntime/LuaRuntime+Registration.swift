internal import CLua
internal import CLuaShims

extension LuaRuntime {
    /// Exposes `function` to Lua as `table.name` (by default `shears.name`).
    ///
    /// The function reads its arguments through ``LuaCall`` and returns its results. Any error it
    /// throws is raised in the script: a ``LuaArgumentError`` as "bad argument #n to 'name' (...)",
    /// anything else as "file:line: description" at the caller's position. The runtime keeps the
    /// function, so capture the runtime itself `unowned` to avoid a reference cycle.
    ///
    /// ```swift
    /// runtime.register("load") { call in
    ///     let path = try call.string(1)
    ///     return [.handle(try Model.load(path), as: modelType)]
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: The field name.
    ///   - table: A dotted path of tables from the globals (`"shears"`, `"shears.methods"`),
    ///     created as needed; nil means the module table.
    ///   - function: The Swift function.
    public func register(_ name: String, in table: String? = nil, _ function: @escaping LuaFunction) {
        let id = bindings.add(function)
        pushTable(path: table ?? configuration.moduleName)
        CLuaShims_pushFunction(state.pointer, id)
        state.setRawField(name, of: -2)
        state.pop()
    }

    /// Sets `table.name` (by default `shears.name`) to a constant value.
    ///
    /// - Throws: ``LuaScriptError`` if the value is nested too deeply for the Lua stack.
    public func setValue(_ value: LuaValue, named name: String, in table: String? = nil) throws {
        pushTable(path: table ?? configuration.moduleName)
        defer { state.pop() }
        try bindings.push(value, call: LuaCall(state: state, bindings: bindings, argumentCount: 0))
        state.setRawField(name, of: -2)
    }

    /// Registers the metatable of handle type `type`.
    ///
    /// Handles get `close()` in addition to `methods`; `__index` (the methods), `__tostring`
    /// (`shears.Model: <describe>`, `shears.Model (closed)`), `__gc` and `__close` (both release
    /// the Swift object), `__name`, and a `__metatable` that hides the metatable. Each method is
    /// called with the checked object of its `self` argument (argument 1), so
    /// `m.perplexity(nil)` raises "calling 'perplexity' on bad self" and a closed handle raises
    /// "attempt to use a closed shears.Model".
    ///
    /// `properties` are read-only fields (`m.layers`): with any, `__index` looks a key up among
    /// the methods, then the properties, and raises "unknown field 'x' of shears.Model" otherwise.
    /// `length` gives the handle a `__len` (`#calibration`).
    ///
    /// `call` makes the handle callable (a `__call`): `criterion{ sparsity = 0.5 }` runs it with
    /// the checked object and a ``LuaCall`` whose argument 1 is the handle itself and whose
    /// argument 2 is the caller's first argument (the options table here). Argument errors are
    /// numbered as the caller wrote them: ``LuaArgumentError`` for argument 2 reads
    /// "bad argument #1 to 'criterion' (...)", and other errors are raised at the caller's line.
    /// Calling a handle without `call` raises Lua's "attempt to call a shears.Model value".
    ///
    /// ```swift
    /// runtime.register(criterionType, call: { criterion, call in
    ///     let options = try call.table(2)  // the caller's first argument
    ///     return [.handle(try criterion.step(options), as: stepType)]
    /// })
    /// ```
    ///
    /// - Precondition: `type.name` is not registered yet.
    public func register<Object: AnyObject>(
        _ type: LuaHandleType<Object>,
        methods: [String: (Object, LuaCall) throws -> [LuaValue]] = [:],
        properties: [String: (Object) throws -> LuaValue] = [:],
        length: ((Object) -> Int)? = nil,
        call: ((Object, LuaCall) throws -> [LuaValue])? = nil,
        describe: ((Object) -> String)? = nil
    ) {
        let state = self.state
        let lua = state.pointer
        let bindings = self.bindings
        let name = type.name
        precondition(state.registryValue(name) == LUA_TNIL, "handle type \(name) is already registered")
        state.pop()
        bindings.handleTypeNames.insert(name)

        func function(_ body: @escaping LuaFunction) { CLuaShims_pushFunction(lua, bindings.add(body)) }
        /// `close()`, `__close` and `__gc` accept only handles of this type; closing twice is fine.
        func release(remove: Bool) -> LuaFunction {
            { call in
                guard let id = bindings.handleID(at: 1, typeName: name, state: call.state) else {
                    throw call.typeError(1, expected: name)
                }
                if remove { bindings.handles.remove(id) } else { bindings.handles.close(id) }
                return []
            }
        }

        lua_createtable(lua, 0, 8) // meta
        state.push(name)
        state.setRawField("__name", of: -2)
        state.push(name)
        state.setRawField("__metatable", of: -2)
        var methodIDs: [String: Int64] = [:]
        for (methodName, method) in methods {
            methodIDs[methodName] = bindings.add { call in try method(call.handle(1, as: type), call) }
        }
        methodIDs["close"] = bindings.add(release(remove: false))
        if properties.isEmpty {
            lua_createtable(lua, 0, Int32(clamping: methodIDs.count)) // meta methods
            for (methodName, id) in methodIDs {
                CLuaShims_pushFunction(lua, id)
                state.setRawField(methodName, of: -2)
            }
        } else {
            function { call in
                let object = try call.handle(1, as: type)
                let key = try call.string(2)
                if let id = methodIDs[key] { return [.registeredFunction(LuaFunctionReference(id: id))] }
                if let property = properties[key] { return [try property(object)] }
                throw LuaScriptError("unknown field '\(key)' of \(name)")
            }
        }
        state.setRawField("__index", of: -2) // meta
        if let length {
            function { call in [.integer(length(try call.handle(1, as: type)))] }
            state.setRawField("__len", of: -2)
        }
        if let call {
            CLuaShims_pushCallMetamethod(
                lua, bindings.add { arguments in try call(arguments.handle(1, as: type), arguments) })
            state.setRawField("__call", of: -2)
        }
        function(release(remove: false))
        state.setRawField("__close", of: -2)
        function(release(remove: true))
        state.setRawField("__gc", of: -2)
        function { call in
            guard let id = bindings.handleID(at: 1, typeName: name, state: call.state) else {
                throw call.typeError(1, expected: name)
            }
            switch bindings.handles.state(of: id) {
            case .open(let object):
                guard let object = object as? Object, let describe else { return [.string("\(name) #\(id)")] }
                return [.string("\(name): \(describe(object))")]
            case .closed: return [.string("\(name) (closed)")]
            case .expired: return [.string("\(name) (expired)")]
            }
        }
        state.setRawField("__tostring", of: -2)
        state.setRawField(name, of: LuaState.registryIndex)
    }

    /// Pushes the table at a dotted `path` from the globals, creating missing tables.
    private func pushTable(path: String) {
        let state = self.state
        state.pushGlobals()
        for component in path.split(separator: ".") {
            if state.rawField(String(component), of: -1) != LUA_TTABLE {
                state.pop()
                lua_createtable(state.pointer, 0, 0)
                lua_pushvalue(state.pointer, -1)
                state.setRawField(String(component), of: -3)
            }
            lua_rotate(state.pointer, -2, -1) // drop the parent
            state.pop()
        }
    }

    /// `shears.version` and `shears.clock()`.
    func installModuleBasics() {
        pushTable(path: configuration.moduleName)
        state.push(configuration.version)
        state.setRawField("version", of: -2)
        state.pop()
        register("clock") { _ in [.number(CLuaShims_monotonicSeconds())] }
    }
}
