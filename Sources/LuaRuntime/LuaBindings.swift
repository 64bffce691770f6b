internal import CLua
internal import CLuaShims

/// The Swift objects the C trampoline reaches: registered functions, handles, output.
///
/// The trampoline receives this object unretained through the context; it is owned by the runtime
/// and outlives the `lua_State` (it is still needed while `lua_close` runs the `__gc` metamethods).
final class LuaBindings {
    /// Registered functions, indexed by the id stored in each trampoline closure.
    private(set) var functions: [LuaFunction] = []
    /// All handles of the state.
    let handles = HandleTable()
    /// Metatable names of the registered handle types.
    var handleTypeNames: Set<String> = []
    /// The C context (for the argument index of argument errors).
    let context: UnsafeMutablePointer<CLuaShims_Context>
    /// Receives `print`, log and warning lines.
    let output: (LuaOutputChannel, String) -> Void

    init(context: UnsafeMutablePointer<CLuaShims_Context>, output: @escaping (LuaOutputChannel, String) -> Void) {
        self.context = context
        self.output = output
    }

    /// Stores `function` and returns its id.
    func add(_ function: @escaping LuaFunction) -> Int64 {
        functions.append(function)
        return Int64(functions.count - 1)
    }

    /// Runs function `id` for the C trampoline: its results' count, or a raise sentinel with the
    /// error on top of the stack. Never raises a Lua error itself.
    func invoke(_ id: Int64, state: LuaState) -> Int32 {
        let call = LuaCall(state: state, bindings: self, argumentCount: state.top)
        do {
            let results = try functions[Int(id)](call)
            guard state.reserve(results.count + 8) else { throw LuaScriptError("too many results to return") }
            for result in results { try push(result, call: call) }
            return Int32(results.count)
        } catch let error as LuaArgumentError {
            if !state.reserve(2) { state.pop(2) }
            state.push(error.detail)
            context.pointee.argumentIndex = Int32(clamping: error.argument)
            return CLuaShims_raiseArgumentError
        } catch {
            if !state.reserve(2) { state.pop(2) }
            state.push(String(describing: error))
            return CLuaShims_raiseError
        }
    }

    /// Pushes `value`, creating tables and handles as needed.
    func push(_ value: LuaValue, call: LuaCall) throws {
        let state = call.state
        guard state.reserve(4) else { throw LuaScriptError("result too deeply nested") }
        let lua = state.pointer
        switch value {
        case .nil: lua_pushnil(lua)
        case .boolean(let flag): lua_pushboolean(lua, flag ? 1 : 0)
        case .integer(let number): lua_pushinteger(lua, lua_Integer(number))
        case .number(let number): lua_pushnumber(lua, number)
        case .string(let text): state.push(text)
        case .array(let elements):
            lua_createtable(lua, Int32(clamping: elements.count), 0)
            for (offset, element) in elements.enumerated() {
                try push(element, call: call)
                lua_rawseti(lua, -2, lua_Integer(offset + 1))
            }
        case .table(let fields):
            lua_createtable(lua, 0, Int32(clamping: fields.count))
            for (key, element) in fields {
                try push(element, call: call)
                state.setRawField(key, of: -2)
            }
        case .newHandle(let handle):
            try pushHandle(handle, call: call)
        case .registeredFunction(let reference):
            CLuaShims_pushFunction(lua, reference.id)
        }
    }

    /// Creates the userdata for a new handle: an id block plus the owner userdata as user value.
    private func pushHandle(_ handle: LuaNewHandle, call: LuaCall) throws {
        let state = call.state
        let lua = state.pointer
        precondition(handleTypeNames.contains(handle.typeName), "handle type \(handle.typeName) is not registered")
        var owner: Int64?
        if let argument = handle.ownerArgument {
            guard let id = handleID(at: Int32(argument), state: state) else {
                throw LuaArgumentError(
                    argument: argument, "handle expected, got \(state.typeName(at: Int32(argument)))")
            }
            owner = id
        }
        let id = handles.insert(handle.object, typeName: handle.typeName, owner: owner)
        guard let block = lua_newuserdatauv(lua, MemoryLayout<Int64>.size, 1) else {
            handles.remove(id)
            throw LuaScriptError("cannot allocate a handle")
        }
        block.storeBytes(of: id, as: Int64.self)
        if let argument = handle.ownerArgument {
            lua_pushvalue(lua, Int32(argument))
            lua_setiuservalue(lua, -2, 1) // the owner lives as long as this handle
        }
        state.registryValue(handle.typeName)
        lua_setmetatable(lua, -2)
    }

    /// The id of the handle at `index` if its metatable is `typeName`'s (or any handle type's when nil).
    func handleID(at index: Int32, typeName: String? = nil, state: LuaState) -> Int64? {
        let lua = state.pointer
        guard state.type(at: index) == LUA_TUSERDATA, lua_getmetatable(lua, index) != 0 else { return nil }
        defer { state.pop() }
        let names = typeName.map { [$0] } ?? Array(handleTypeNames)
        for name in names {
            state.registryValue(name)
            let matches = lua_rawequal(lua, -1, -2) != 0
            state.pop()
            if matches, let block = lua_touserdata(lua, index) {
                return block.load(as: Int64.self)
            }
        }
        return nil
    }
}
