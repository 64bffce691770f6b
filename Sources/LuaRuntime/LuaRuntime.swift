internal import CLua
internal import CLuaShims
import Foundation

/// A sandboxed Lua 5.4 state that runs recipes.
///
/// The state opens only `base`, `table`, `string`, `math`, `utf8` and `coroutine`, without
/// `dofile`, `loadfile`, `warn` and `string.dump`; `load` accepts text only; `collectgarbage`
/// offers only "collect" and "count"; `setmetatable` refuses `__gc` (Lua runs finalizers with
/// hooks disabled, so no time limit could stop one; `<close>` variables serve for cleanup);
/// `require` loads `NAME.lua` from the recipe's directory and
/// then ``Configuration/libraryDirectories``. There is no `io`, `os`, `debug` or `package`.
///
/// Globals are strict: every chunk's `_ENV` is a proxy that reads the shared globals, raises
/// "unknown global 'x'" for a name that does not exist (no global is ever nil, so a typo fails
/// at once), and raises "assignment to undeclared global 'x'" on assignment; recipes declare
/// their variables with `local`. Because the proxy is a userdata, `rawset(_G, ...)` and
/// `setmetatable(_ENV, ...)` fail too.
///
/// Swift functions and handle types are added with ``register(_:in:_:)`` and
/// ``register(_:methods:properties:length:call:describe:)``; a Lua error never unwinds through
/// Swift frames.
///
/// ```swift
/// let runtime = try LuaRuntime(configuration: .init(libraryDirectories: ["Scripts/lib"]))
/// runtime.register("double") { call in [.number(try call.number(1) * 2)] }
/// try runtime.run(file: "recipe.lua", arguments: RecipeArguments(parsing: ["seqlen=128"]))
/// ```
public final class LuaRuntime {
    /// The configuration the runtime was created with.
    public let configuration: Configuration
    private var pointer: OpaquePointer?
    /// True while a chunk runs (runs cannot nest).
    private var isRunning = false
    private let context: UnsafeMutablePointer<CLuaShims_Context>
    let bindings: LuaBindings

    /// Creates the state and builds the sandbox.
    ///
    /// - Throws: ``RecipeRuntimeError`` if the state cannot be created (out of memory).
    /// - Precondition: `configuration.moduleName` is a non-empty name without dots.
    public init(configuration: Configuration = Configuration()) throws {
        precondition(
            !configuration.moduleName.isEmpty && !configuration.moduleName.contains("."), "invalid module name")
        self.configuration = configuration
        context = .allocate(capacity: 1)
        context.initialize(to: CLuaShims_Context())
        bindings = LuaBindings(context: context, output: configuration.output)
        context.pointee.host = Unmanaged.passUnretained(bindings).toOpaque()
        context.pointee.dispatch = { state, host, functionID in
            // Only reachable from the trampoline of a state this runtime created.
            let bindings = Unmanaged<LuaBindings>.fromOpaque(host!).takeUnretainedValue()
            return bindings.invoke(functionID, state: LuaState(pointer: state!))
        }
        context.pointee.write = { host, channel, text, length in
            let bindings = Unmanaged<LuaBindings>.fromOpaque(host!).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
            let kind: LuaOutputChannel =
                switch channel {
                case CLuaShims_channelPrint: .print
                case CLuaShims_channelLog: .log
                default: .warning
                }
            bindings.output(kind, line)
        }
        let limits = configuration.limits
        context.pointee.memoryLimit = max(0, limits.memory ?? 0)
        context.pointee.timeLimit = limits.time ?? 0
        context.pointee.instructionLimit = Int64(limits.instructions ?? 0)
        guard let state = CLuaShims_newState(context) else {
            throw RecipeRuntimeError(message: "cannot create the Lua state: out of memory")
        }
        pointer = state
        if CLuaShims_openSandbox(state, configuration.moduleName) != LUA_OK {
            let message = LuaState(pointer: state).string(at: -1) ?? "unknown error"
            throw RecipeRuntimeError(message: "cannot build the Lua sandbox: \(message)")
        }
        installModuleBasics()
        installArgumentHelpers()
    }

    deinit {
        close()
        context.deinitialize(count: 1)
        context.deallocate()
    }

    /// Closes the state: every handle is collected (its `__gc` runs) and its Swift object released.
    ///
    /// Calling it again does nothing; the runtime cannot run anything afterwards.
    public func close() {
        guard let state = pointer else { return }
        lua_close(state)
        pointer = nil
    }

    /// Handles whose Swift object is still held; zero once the state is closed.
    public var liveHandleCount: Int { bindings.handles.liveCount }

    /// Bytes currently allocated by the Lua state (the quantity the memory limit caps).
    public var memoryInUse: Int { Int(context.pointee.memoryInUse) }

    /// The open state; using a closed runtime is a programming error.
    var state: LuaState {
        guard let pointer else { preconditionFailure("the Lua runtime is closed") }
        return LuaState(pointer: pointer)
    }

    // MARK: Running

    /// Runs the recipe at `path`, with `shears.args` built from `arguments`.
    ///
    /// The chunk is loaded as text under the name `@path` (errors read `path:LINE: ...`), and
    /// `require` searches the recipe's directory, then ``Configuration/libraryDirectories``.
    /// A first line starting with `#` (a shebang) is ignored.
    ///
    /// - Throws: ``RecipeLoadError`` if the file cannot be read or has a syntax error (exit 2);
    ///   ``RecipeRuntimeError`` if the recipe raises an error or exceeds a limit (exit 1).
    public func run(file path: String, arguments: RecipeArguments = RecipeArguments()) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RecipeLoadError(file: path, line: nil, message: "cannot read the recipe: no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw RecipeLoadError(file: path, line: nil, message: "cannot read the recipe: not a readable file")
        }
        var source = [UInt8](data)
        if source.first == UInt8(ascii: "#") {
            source.removeSubrange(0..<(source.firstIndex(of: UInt8(ascii: "\n")) ?? source.count))
        }
        let directory = (path as NSString).deletingLastPathComponent // "" for a recipe in the current directory
        try execute(
            source, chunkName: path, searchPath: [directory] + configuration.libraryDirectories, arguments: arguments)
    }

    /// Runs `source` as a chunk named `name`; `require` searches ``Configuration/libraryDirectories`` only.
    ///
    /// - Throws: ``RecipeLoadError`` for a syntax error, ``RecipeRuntimeError`` for a runtime error or limit.
    public func run(source: String, name: String, arguments: RecipeArguments = RecipeArguments()) throws {
        try execute(
            Array(source.utf8), chunkName: name, searchPath: configuration.libraryDirectories, arguments: arguments)
    }

    private func execute(_ source: [UInt8], chunkName: String, searchPath: [String], arguments: RecipeArguments) throws
    {
        precondition(!isRunning, "a Swift function cannot run a recipe while one is running")
        isRunning = true
        defer { isRunning = false }
        let state = self.state
        let lua = state.pointer
        setSearchPath(searchPath)
        setArguments(arguments)
        let loadStatus = source.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                luaL_loadbufferx(lua, text.baseAddress, text.count, "@" + chunkName, "t")
            }
        }
        guard loadStatus == LUA_OK else {
            let message = state.string(at: -1) ?? "cannot load the chunk"
            state.pop()
            throw RecipeLoadError(file: chunkName, luaMessage: message)
        }
        state.registryValue(CLuaShims_environmentKey)
        lua_setupvalue(lua, -2, 1) // the chunk's _ENV is the strict proxy
        let limits = configuration.limits
        CLuaShims_startRun(lua, limits.timeMessage, limits.instructionMessage, limits.memoryMessage)
        let status = CLuaShims_callProtected(lua, 0, 0)
        // A limit exceeded where the script could not see it (a memory error it caught) still fails the run.
        guard status != LUA_OK || context.pointee.limitHit != CLuaShims_limitNone else { return }
        if status == LUA_OK { lua_pushnil(lua) }
        let error = runtimeError(status: status)
        state.pop()
        throw error
    }

    /// The error on top of the stack after a protected call failed with `status` (not popped).
    private func runtimeError(status: Int32) -> RecipeRuntimeError {
        let state = self.state
        let limits = configuration.limits
        let limit: RecipeLimit? =
            switch context.pointee.limitHit {
            case CLuaShims_limitMemory: .memory
            case CLuaShims_limitTime: .time
            case CLuaShims_limitInstructions: .instructions
            // A memory error raised where Lua could not retry after collecting (during a GC step).
            default: status == LUA_ERRMEM && limits.memory != nil ? .memory : nil
            }
        var message = state.string(at: -1) ?? "(error object is not a string)"
        var frames: [LuaStackFrame] = []
        if state.type(at: -1) == LUA_TTABLE {
            state.rawField("message", of: -1)
            message = state.string(at: -1) ?? message
            state.pop()
            frames = tracebackFrames()
        }
        switch limit {
        case .memory: message = limits.memoryMessage
        case .time: message = limits.timeMessage
        case .instructions: message = limits.instructionMessage
        case nil: break
        }
        return RecipeRuntimeError(message: message, traceback: frames, limit: limit)
    }

    /// The frames of the report table on top of the stack.
    private func tracebackFrames() -> [LuaStackFrame] {
        let state = self.state
        let lua = state.pointer
        guard state.reserve(4), state.rawField("traceback", of: -1) == LUA_TTABLE else {
            state.pop()
            return []
        }
        var frames: [LuaStackFrame] = []
        for index in stride(from: 1, through: Int(lua_rawlen(lua, -1)), by: 1) {
            guard lua_rawgeti(lua, -1, lua_Integer(index)) == LUA_TTABLE else {
                state.pop()
                continue
            }
            state.rawField("source", of: -1)
            let source = state.string(at: -1) ?? "?"
            state.pop()
            let line = state.rawField("line", of: -1) == LUA_TNUMBER ? Int(lua_tointegerx(lua, -1, nil)) : nil
            state.pop()
            state.rawField("context", of: -1)
            let context = state.string(at: -1) ?? "?"
            state.pop(2)
            frames.append(LuaStackFrame(source: source, line: line, context: context))
        }
        state.pop()
        return frames
    }

    /// Replaces the directories `require` searches.
    private func setSearchPath(_ directories: [String]) {
        let state = self.state
        lua_createtable(state.pointer, Int32(clamping: directories.count), 0)
        for (index, directory) in directories.enumerated() {
            state.push(directory)
            lua_rawseti(state.pointer, -2, lua_Integer(index + 1))
        }
        state.setRawField(CLuaShims_searchPathKey, of: LuaState.registryIndex)
    }
}
