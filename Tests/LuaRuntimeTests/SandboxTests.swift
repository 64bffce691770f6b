import CLua
import LuaRuntime
import Testing

@Suite("Sandbox: forbidden libraries and escape attempts")
struct SandboxTests {
    @Test(
        "Removed libraries and functions are unknown globals",
        arguments: [
            "io", "os", "debug", "package", "dofile", "loadfile", "warn", "loadstring", "module", "jit",
        ])
    func removedGlobal(name: String) throws {
        #expect(try errorMessage("return \(name)") == "recipe.lua:1: unknown global '\(name)'")
    }

    @Test("package.loadlib and C searchers are unreachable")
    func noLoadlib() throws {
        #expect(
            try errorMessage("return package.loadlib('libc.so.6', 'system')")
                == "recipe.lua:1: unknown global 'package'")
        #expect(try errorMessage("return require('io')")?.contains("module 'io' not found") == true)
    }

    @Test("The allowed libraries work")
    func allowedLibraries() throws {
        let lines = try printed(
            """
            print(string.format('%d', 42), table.concat({'a', 'b'}, ','), math.max(1, 2), utf8.char(72),
                  coroutine.wrap(function() coroutine.yield('y') end)(), select('#', 1, 2), _VERSION)
            """)
        #expect(lines == ["42\ta,b\t2\tH\ty\t2\tLua 5.4"])
    }

    @Test("string.dump is gone, also through the string metatable")
    func noDump() throws {
        #expect(try printed("print(string.dump, ('').dump)") == ["nil\tnil"])
        #expect(try printed("print(getmetatable(''))") == ["false"])
        let message = try errorMessage("return getmetatable('').__index.dump")
        #expect(message == "recipe.lua:1: attempt to index a boolean value")
        #expect(
            try errorMessage("setmetatable('', {})")
                == "recipe.lua:1: bad argument #1 to 'setmetatable' (table expected, got string)")
    }

    @Test("load refuses binary chunks built with lua_dump")
    func binaryChunks() throws {
        let literal = binaryChunk(of: "return 1").map { "\\\($0)" }.joined()
        #expect(
            try printed("print(load('\(literal)'))") == [
                "nil\tbinary chunks are not allowed (load accepts Lua source text only)"
            ])
        #expect(
            try printed("print(load('\(literal)', 'x', 'b'))") == [
                "nil\tbinary chunks are not allowed (load accepts Lua source text only)"
            ]
        )
        let reader =
            "local s = '\(literal)'; local done = false; print(load(function() if done then return nil end; done = true; return s end, '=reader', 'bt'))"
        #expect(try printed(reader) == ["nil\tattempt to load a binary chunk (mode is 't')"])
    }

    @Test("load compiles text with the strict environment by default, or with an explicit one")
    func loadText() throws {
        #expect(try printed("print(load('return 1 + 1')())") == ["2"])
        #expect(
            try errorMessage("load('x = 1')()")
                == "[string \"x = 1\"]:1: assignment to undeclared global 'x' (declare it with 'local')")
        #expect(try printed("local env = {}; load('x = 5', 'c', 't', env)(); print(env.x)") == ["5"])
        #expect(
            try errorMessage("load(42)") == "recipe.lua:1: bad argument #1 to 'load' (function expected, got number)")
    }

    @Test("Reading an unknown global and assigning any global are errors")
    func strictGlobals() throws {
        #expect(try errorMessage("local a = 1\nprint(undefinedName)") == "recipe.lua:2: unknown global 'undefinedName'")
        #expect(
            try errorMessage("counter = 1")
                == "recipe.lua:1: assignment to undeclared global 'counter' (declare it with 'local')")
        #expect(try errorMessage("print = nil") == "recipe.lua:1: assignment to read-only global 'print'")
        #expect(
            try errorMessage("function helper() end")
                == "recipe.lua:1: assignment to undeclared global 'helper' (declare it with 'local')")
        #expect(try printed("local x = 3; local function f() return x * 2 end; print(f())") == ["6"])
    }

    @Test("_ENV and _G cannot be modified: setmetatable, rawset, __newindex")
    func environmentIsLocked() throws {
        #expect(
            try errorMessage("setmetatable(_ENV, {__index = function() return 1 end})")
                == "recipe.lua:1: bad argument #1 to 'setmetatable' (table expected, got userdata)")
        #expect(
            try errorMessage("rawset(_G, 'sneaky', 1)")
                == "recipe.lua:1: bad argument #1 to 'rawset' (table expected, got userdata)")
        #expect(
            try errorMessage("_G.sneaky = 1")
                == "recipe.lua:1: assignment to undeclared global 'sneaky' (declare it with 'local')")
        #expect(try errorMessage("_ENV.print = 1") == "recipe.lua:1: assignment to read-only global 'print'")
        #expect(try printed("print(getmetatable(_ENV), getmetatable(_G), _G == _ENV)") == ["false\tfalse\ttrue"])
        #expect(try errorMessage("for k in pairs(_G) do end")?.contains("table expected, got userdata") == true)
    }

    @Test("A chunk cannot leak a global to another chunk through a local _ENV")
    func localEnvironmentStaysLocal() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime()
        try runtime.run(source: "local _ENV = {print = print}; x = 1; print(x)", name: "first.lua")
        #expect(try runtimeError("print(x)", in: runtime)?.message == "recipe.lua:1: unknown global 'x'")
        #expect(fixture.output.texts(.print) == ["1"])
    }

    @Test("collectgarbage offers only collect and count")
    func collectGarbage() throws {
        #expect(
            try printed("print(collectgarbage(), collectgarbage('collect'), math.type(collectgarbage('count')))") == [
                "0\t0\tfloat"
            ])
        #expect(
            try errorMessage("collectgarbage('stop')")
                == "recipe.lua:1: bad argument #1 to 'collectgarbage' (option 'stop' is not available (only 'collect' and 'count'))"
        )
    }

    @Test("Coroutines share the strict environment and cannot reach the host")
    func coroutines() throws {
        // coroutine.wrap prefixes the caller's position to errors it propagates, as in stock Lua.
        #expect(
            try errorMessage("coroutine.wrap(function() leaked = 1 end)()")?
                .hasSuffix("recipe.lua:1: assignment to undeclared global 'leaked' (declare it with 'local')") == true)
        let source = """
            local co = coroutine.create(function() return io end)
            local ok, message = coroutine.resume(co)
            print(ok, message)
            """
        #expect(try printed(source) == ["false\trecipe.lua:1: unknown global 'io'"])
        #expect(
            try errorMessage("coroutine.wrap(function() error('inside') end)()")?.hasSuffix("recipe.lua:1: inside")
                == true)
    }

    @Test("Yielding across the runtime's C functions is an error, not a crash")
    func yieldAcrossHost() throws {
        let fixture = try RecipeFixture()
        try fixture.write("yielding.lua", "coroutine.yield('from module')\nreturn {}")
        let recipe = try fixture.write(
            "recipe.lua",
            """
            local yielder = setmetatable({}, {__tostring = function() coroutine.yield('x') return 'y' end})
            print(coroutine.resume(coroutine.create(function() print(yielder) end)))
            print(coroutine.resume(coroutine.create(function() return require('yielding') end)))
            print(coroutine.resume(coroutine.create(function() return load(function() coroutine.yield() end) end)))
            """)
        let runtime = try fixture.runtime()
        try runtime.run(file: recipe)
        #expect(
            fixture.output.texts(.print) == [
                "false\tattempt to yield across a C-call boundary",
                "false\tattempt to yield across a C-call boundary",
                "true\tnil\tattempt to yield across a C-call boundary", // load reports reader errors as nil, message
            ])
    }

    @Test("print and shears.log go to the host's output; log lines carry their position")
    func output() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime()
        try runtime.run(source: "print('a', 1, nil, true)\nshears.log('step', 2)", name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["a\t1\tnil\ttrue"])
        #expect(fixture.output.texts(.log) == ["recipe.lua:2: step\t2"])
    }

    @Test("Script finalizers are refused: Lua runs them with hooks off, beyond any time limit")
    func noFinalizers() throws {
        #expect(
            try errorMessage("setmetatable({}, {__gc = function() while true do end end})")
                == "recipe.lua:1: bad argument #2 to 'setmetatable' (__gc metamethods are not allowed in recipes (use a <close> variable))"
        )
        let lateGC = """
            local mt = {}
            local t = setmetatable({}, mt)
            mt.__gc = function() print('finalized') end
            t = nil
            collectgarbage()
            print(getmetatable(setmetatable({}, {__index = {}})) ~= nil)
            """
        #expect(try printed(lateGC) == ["true"])
    }

    @Test("shears.version and shears.clock")
    func moduleBasics() throws {
        let lines = try printed(
            "local t0 = shears.clock(); local t1 = shears.clock(); print(shears.version, t1 >= t0, math.type(t0))")
        #expect(lines == ["0.1.0\ttrue\tfloat"])
    }
}

/// The binary chunk of `source`, produced with the C API (`string.dump` is not available).
func binaryChunk(of source: String) -> [UInt8] {
    guard let lua = luaL_newstate() else { return [] }
    defer { lua_close(lua) }
    guard luaL_loadstring(lua, source) == LUA_OK else { return [] }
    var bytes: [UInt8] = []
    withUnsafeMutablePointer(to: &bytes) { output in
        _ = lua_dump(
            lua,
            { _, data, size, userData in
                guard let data, let output = userData?.assumingMemoryBound(to: [UInt8].self) else { return 1 }
                output.pointee.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }, output, 0)
    }
    return bytes
}
