import LuaRuntime
import Testing

/// A Swift object behind a handle; counts live instances.
private final class FakeModel {
    let name: String
    let tracker: InstanceTracker
    init(_ name: String, tracker: InstanceTracker) {
        self.name = name
        self.tracker = tracker
        tracker.live += 1
    }
    deinit { tracker.live -= 1 }
}

/// A Swift object that depends on a model.
private final class FakeTensor {
    let tracker: InstanceTracker
    init(tracker: InstanceTracker) {
        self.tracker = tracker
        tracker.live += 1
    }
    deinit { tracker.live -= 1 }
}

private final class InstanceTracker { var live = 0 }

/// A Swift object behind a callable handle: called with a table, it scales the table's `x`.
private final class FakeScaler {
    let factor: Int
    init(_ factor: Int) { self.factor = factor }
}

private let modelType = LuaHandleType<FakeModel>("test.Model")
private let tensorType = LuaHandleType<FakeTensor>("test.Tensor")
private let scalerType = LuaHandleType<FakeScaler>("test.Scaler")

@Suite("Handles: userdata for Swift objects, lifetimes, closed and expired states")
struct HandleTests {
    private let fixture: RecipeFixture
    private let tracker = InstanceTracker()
    private let runtime: LuaRuntime

    init() throws {
        fixture = try RecipeFixture()
        runtime = try fixture.runtime()
        let tracker = self.tracker
        let runtime = self.runtime
        runtime.register(
            modelType,
            methods: [
                "name": { model, _ in [.string(model.name)] },
                "perplexity": { _, call in
                    let options = try call.table(2)
                    return [.integer(try options.integer("seqlen"))]
                },
                "tensor": { _, _ in [.handle(FakeTensor(tracker: tracker), as: tensorType, dependingOn: 1)] },
            ], describe: { "'\($0.name)'" })
        runtime.register(tensorType, methods: ["size": { _, _ in [4] }])
        runtime.register("load") { call in [.handle(FakeModel(try call.string(1), tracker: tracker), as: modelType)] }
        runtime.register("live") { [unowned runtime] _ in [.integer(runtime.liveHandleCount), .integer(tracker.live)] }
        runtime.register("name_of") { call in [.string(try call.handle(1, as: modelType).name)] }
        runtime.register(
            scalerType, properties: ["factor": { .integer($0.factor) }],
            call: { scaler, call in
                // Argument 1 is the handle itself; the caller's arguments follow.
                let options = try call.table(2)
                let x = try options.integer("x")
                guard x >= 0 else { throw LuaScriptError("x must not be negative, got \(x)") }
                return [
                    .integer(x * scaler.factor), .integer(call.argumentCount),
                    .boolean(try call.handle(1, as: scalerType) === scaler),
                ]
            }, describe: { "x\($0.factor)" })
        runtime.register("scaler") { call in [.handle(FakeScaler(try call.integer(1)), as: scalerType)] }
    }

    private func run(_ source: String) throws -> [String] {
        try runtime.run(source: source, name: "recipe.lua")
        return fixture.output.texts(.print)
    }

    private func failure(_ source: String) throws -> String? { try runtimeError(source, in: runtime)?.message }

    @Test("Methods, tostring, type checks and the hidden metatable")
    func basics() throws {
        let lines = try run(
            """
            local m = shears.load('tiny')
            print(m:name(), tostring(m), type(m), getmetatable(m), shears.name_of(m))
            """)
        #expect(lines == ["tiny\ttest.Model: 'tiny'\tuserdata\ttest.Model\ttiny"])
        #expect(
            try failure("shears.name_of('x')")
                == "recipe.lua:1: bad argument #1 to 'name_of' (test.Model expected, got string)")
        #expect(
            try failure("local m = shears.load('a'); local t = m:tensor(); shears.name_of(t)")
                == "recipe.lua:1: bad argument #1 to 'name_of' (test.Model expected, got test.Tensor)")
        #expect(
            try failure("local m = shears.load('a'); m.name(42)")
                == "recipe.lua:1: bad argument #1 to 'name' (test.Model expected, got number)")
        #expect(
            try failure("local m = shears.load('a'); local t = m:tensor(); t.name = 1")
                == "recipe.lua:1: attempt to index a test.Tensor value (local 't')")
        #expect(
            try failure("local m = shears.load('a'); setmetatable(m, {})")
                == "recipe.lua:1: bad argument #1 to 'setmetatable' (table expected, got test.Model)")
    }

    @Test("Method argument errors are numbered as Lua numbers them")
    func methodArguments() throws {
        #expect(
            try failure("local m = shears.load('a')\nm:perplexity(nil)")
                == "recipe.lua:2: bad argument #1 to 'perplexity' (table expected, got nil)")
        #expect(
            try failure("local m = shears.load('a')\nm:perplexity({seqlen = 'x'})")
                == "recipe.lua:2: bad argument #1 to 'perplexity' (field 'seqlen' must be an integer, got string)")
        #expect(
            try failure("local m = shears.load('a')\nm.perplexity(m, {}, {seqlen = 'x'})")
                == "recipe.lua:2: bad argument #2 to 'perplexity' (field 'seqlen' must be an integer, got nil)")
        #expect(
            try failure("local m = shears.load('a')\nm.perplexity({})")
                == "recipe.lua:2: bad argument #1 to 'perplexity' (test.Model expected, got table)")
        #expect(
            try failure("local m = shears.load('a')\nlocal p = m.perplexity\np({})")
                == "recipe.lua:3: bad argument #1 to 'p' (test.Model expected, got table)")
        #expect(
            try failure("local m = shears.load('a')\nm.name:x()")
                == "recipe.lua:2: attempt to index a function value (field 'name')")
    }

    @Test("A callable handle gets itself as argument 1 and returns values")
    func callableHandle() throws {
        let lines = try run(
            """
            local triple = shears.scaler(3)
            print(triple{ x = 5 }, triple.factor, tostring(triple))
            print(shears.scaler(2)({ x = 7 }, 'extra'))
            print(pcall(triple, { x = 1 }))
            """)
        #expect(lines == ["15\t3\ttest.Scaler: x3", "14\t3\ttrue", "true\t3\t2\ttrue"])
    }

    @Test("A callable handle raises its errors at the caller's line, arguments numbered as the caller wrote them")
    func callableHandleErrors() throws {
        #expect(
            try failure("local triple = shears.scaler(3)\nlocal y = triple{ x = -1 }")
                == "recipe.lua:2: x must not be negative, got -1")
        #expect(
            try failure("local triple = shears.scaler(3)\n\ntriple(42)")
                == "recipe.lua:3: bad argument #1 to 'triple' (table expected, got number)")
        #expect(
            try failure("local triple = shears.scaler(3)\ntriple{ x = 'many' }")
                == "recipe.lua:2: bad argument #1 to 'triple' (field 'x' must be an integer, got string)")
        #expect(
            try failure("shears.scaler(3)()")
                == "recipe.lua:1: bad argument #1 to 'test.Scaler' (table expected, got no value)")
        #expect(
            try failure("local t = { f = shears.scaler(3) }\nt.f(1)")
                == "recipe.lua:2: bad argument #1 to 'f' (table expected, got number)")
        #expect(
            try failure("local t = { f = shears.scaler(3) }\nt:f()")
                == "recipe.lua:2: calling 'f' on bad self (field 'x' must be an integer, got nil)")
        #expect(
            try failure("local triple = shears.scaler(3)\ntriple:close()\ntriple{ x = 1 }")
                == "recipe.lua:3: attempt to use a closed test.Scaler")
        let lines = try run("print(pcall(shears.scaler(3), { x = -2 }))")
        #expect(lines == ["false\tx must not be negative, got -2"])
    }

    @Test("Calling a handle that is not callable raises Lua's own clear error")
    func nonCallableHandle() throws {
        #expect(
            try failure("local m = shears.load('a')\nm{}")
                == "recipe.lua:2: attempt to call a test.Model value (local 'm')")
        #expect(
            try failure("local m = shears.load('a')\nlocal t = m:tensor()\nt()")
                == "recipe.lua:3: attempt to call a test.Tensor value (local 't')")
    }

    @Test("close() releases the object; later use errors; closing twice is fine")
    func explicitClose() throws {
        let lines = try run(
            """
            local m = shears.load('a')
            print(shears.live())
            m:close()
            m:close()
            print(shears.live(), tostring(m))
            print(pcall(m.name, m))
            """)
        #expect(lines == ["1\t1", "0\ttest.Model (closed)", "false\tattempt to use a closed test.Model"])
        #expect(
            try failure("local m = shears.load('a')\nm:close()\nm:name()")
                == "recipe.lua:3: attempt to use a closed test.Model")
        #expect(
            try failure("local m = shears.load('a')\nm:close()\nshears.name_of(m)")
                == "recipe.lua:3: attempt to use a closed test.Model")
    }

    @Test("<close> variables close the handle when they go out of scope")
    func closeVariables() throws {
        let lines = try run(
            """
            do
              local m <close> = shears.load('scoped')
              print(shears.live())
            end
            print(shears.live())
            local ok = pcall(function()
              local m <close> = shears.load('on error')
              error('fail')
            end)
            print(ok, shears.live())
            """)
        #expect(lines == ["1\t1", "0\t0", "false\t0\t0"])
    }

    @Test("Collected handles release their objects")
    func collection() throws {
        let lines = try run(
            """
            for i = 1, 50 do shears.load('temp' .. i) end
            collectgarbage()
            collectgarbage()
            print(shears.live())
            """)
        #expect(lines == ["0\t0"])
    }

    @Test("Closing the owner expires dependent handles")
    func expiry() throws {
        let lines = try run(
            """
            local m = shears.load('a')
            local t = m:tensor()
            print(t:size(), shears.live())
            m:close()
            print(tostring(t), shears.live())
            print(pcall(t.size, t))
            """)
        #expect(
            lines == [
                "4\t2\t2", "test.Tensor (expired)\t0\t0",
                "false\tattempt to use an expired test.Tensor (its test.Model was closed)",
            ])
    }

    @Test("A dependent handle keeps its owner alive while reachable")
    func ownerKeptAlive() throws {
        let lines = try run(
            """
            local t = shears.load('a'):tensor()
            collectgarbage()
            collectgarbage()
            print(t:size(), shears.live())
            t = nil
            collectgarbage()
            collectgarbage()
            print(shears.live())
            """)
        #expect(lines == ["4\t2\t2", "0\t0"])
    }

    @Test("Closing the state releases every handle")
    func closeState() throws {
        try runtime.run(
            source: """
                local keep = {}
                for i = 1, 10 do keep[i] = shears.load('m' .. i) end
                keep.tensor = keep[1]:tensor()
                shears.keep = keep
                """, name: "recipe.lua")
        #expect(runtime.liveHandleCount == 11)
        #expect(tracker.live == 11)
        runtime.close()
        #expect(runtime.liveHandleCount == 0)
        #expect(tracker.live == 0)
    }

    @Test("Releasing the runtime releases every handle")
    func releaseRuntime() throws {
        let tracker = InstanceTracker()
        do {
            let runtime = try RecipeFixture().runtime()
            runtime.register(modelType)
            runtime.register("load") { call in [.handle(FakeModel(try call.string(1), tracker: tracker), as: modelType)]
            }
            try runtime.run(source: "shears.kept = shears.load('x')", name: "recipe.lua")
            #expect(tracker.live == 1)
        }
        #expect(tracker.live == 0)
    }
}
