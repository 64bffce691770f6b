import LuaRuntime
import Testing

@Suite("Swift functions: registration, argument checking, errors, results")
struct FunctionBindingTests {
    /// A runtime with `shears.load(path)`, `shears.add(a, b)`, `shears.options{...}` and `shears.fail(msg)`.
    private func makeRuntime(_ fixture: RecipeFixture) throws -> LuaRuntime {
        let runtime = try fixture.runtime()
        runtime.register("load") { call in [.string("loaded " + (try call.string(1)))] }
        runtime.register("add") { call in [.integer(try call.integer(1) + call.integer(2, default: 10))] }
        runtime.register("half") { call in [.number(try call.number(1) / 2)] }
        runtime.register("flag") { call in [.boolean(!(try call.boolean(1)))] }
        runtime.register("options") { call in
            let options = try call.table(1)
            try options.checkFields(allowed: ["seqlen", "name", "verbose", "ratio", "layers"])
            return [
                .integer(try options.integer("seqlen", default: 128)),
                .string(try options.string("name", default: "none")),
                .boolean(try options.boolean("verbose", default: false)),
                .number(try options.number("ratio", default: 0.5)),
                .array(try options.optionalTable("layers")?.integers().map { .integer($0) } ?? []),
            ]
        }
        runtime.register("fail") { call in throw LuaScriptError(try call.string(1)) }
        runtime.register("custom", in: "shears.util") { _ in
            [["list": [1, 2.5, "three", true, nil], "nested": ["k": "v"]]]
        }
        return runtime
    }

    private func message(_ source: String) throws -> String? {
        let fixture = try RecipeFixture()
        return try runtimeError(source, in: makeRuntime(fixture))?.message
    }

    @Test("Results come back as Lua values")
    func results() throws {
        let fixture = try RecipeFixture()
        let runtime = try makeRuntime(fixture)
        try runtime.run(
            source: """
                print(shears.load('m.gguf'), shears.add(2, 3), shears.add(2), shears.add('4', 1.0), shears.half(3), shears.flag(false))
                print(shears.options{seqlen = 64, name = 'x', verbose = true, ratio = 0.25, layers = {1, 2}})
                local r = shears.util.custom()
                print(#r.list, r.list[2], r.list[3], r.list[4], r.nested.k)
                """, name: "recipe.lua")
        let lines = fixture.output.texts(.print)
        #expect(lines.count == 3)
        #expect(lines.first == "loaded m.gguf\t5\t12\t5\t1.5\ttrue")
        #expect(lines.dropFirst().first?.hasPrefix("64\tx\ttrue\t0.25\ttable: ") == true)
        #expect(lines.last == "4\t2.5\tthree\ttrue\tv")
    }

    @Test(
        "Argument errors read like Lua's own",
        arguments: [
            ("shears.load(nil)", "recipe.lua:1: bad argument #1 to 'load' (string expected, got nil)"),
            ("shears.load()", "recipe.lua:1: bad argument #1 to 'load' (string expected, got no value)"),
            ("shears.load({})", "recipe.lua:1: bad argument #1 to 'load' (string expected, got table)"),
            ("shears.add(1, 'x')", "recipe.lua:1: bad argument #2 to 'add' (number expected, got string)"),
            ("shears.add(1.5)", "recipe.lua:1: bad argument #1 to 'add' (number has no integer representation)"),
            ("shears.half(true)", "recipe.lua:1: bad argument #1 to 'half' (number expected, got boolean)"),
            ("shears.flag(1)", "recipe.lua:1: bad argument #1 to 'flag' (boolean expected, got number)"),
            ("local f = shears.load\nf(1 > 2)", "recipe.lua:2: bad argument #1 to 'f' (string expected, got boolean)"),
            ("shears.options('x')", "recipe.lua:1: bad argument #1 to 'options' (table expected, got string)"),
        ])
    func argumentErrors(source: String, expected: String) throws {
        #expect(try message(source) == expected)
    }

    @Test(
        "Table field errors name the field",
        arguments: [
            (
                "shears.options{seqlen = 'long'}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'seqlen' must be an integer, got string)"
            ),
            (
                "shears.options{seqlen = 1.5}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'seqlen' must be an integer, got 1.5)"
            ),
            (
                "shears.options{name = {}}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'name' must be a string, got table)"
            ),
            (
                "shears.options{verbose = 'yes'}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'verbose' must be a boolean, got string)"
            ),
            (
                "shears.options{ratio = '0.5'}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'ratio' must be a number, got string)"
            ),
            (
                "shears.options{layers = 3}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'layers' must be a table, got number)"
            ),
            (
                "shears.options{layers = {1, 'two'}}",
                "recipe.lua:1: bad argument #1 to 'options' (field 'layers[2]' must be an integer, got string)"
            ),
            ("shears.options{sparsty = 0.5}", "recipe.lua:1: bad argument #1 to 'options' (unknown field 'sparsty')"),
            ("shears.options{1}", "recipe.lua:1: bad argument #1 to 'options' (unexpected key of type number)"),
        ])
    func fieldErrors(source: String, expected: String) throws {
        #expect(try message(source) == expected)
    }

    @Test("Options tables are read raw: metamethods never run")
    func rawAccess() throws {
        let source = "print(shears.options(setmetatable({}, {__index = function() error('metamethod ran') end})))"
        let fixture = try RecipeFixture()
        let runtime = try makeRuntime(fixture)
        try runtime.run(source: source, name: "recipe.lua")
        #expect(fixture.output.texts(.print).first?.hasPrefix("128\tnone\tfalse\t0.5\ttable: ") == true)
    }

    @Test("Swift errors become Lua errors at the caller's position, catchable with pcall")
    func swiftErrors() throws {
        #expect(
            try message("local x = 1\nshears.fail('model file is corrupt')") == "recipe.lua:2: model file is corrupt")
        let fixture = try RecipeFixture()
        let runtime = try makeRuntime(fixture)
        try runtime.run(source: "print(pcall(shears.fail, 'caught'))\nprint(pcall(shears.load))", name: "recipe.lua")
        #expect(
            fixture.output.texts(.print) == [
                "false\tcaught", "false\tbad argument #1 to '?' (string expected, got no value)",
            ])
    }

    @Test("Errors thrown from Swift unwind Swift frames normally (defer runs)")
    func deferRuns() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime()
        final class Counter { var value = 0 }
        let counter = Counter()
        runtime.register("guarded") { call in
            defer { counter.value += 1 }
            _ = try call.string(1)
            return []
        }
        try runtime.run(source: "for i = 1, 100 do pcall(shears.guarded) end", name: "recipe.lua")
        #expect(counter.value == 100)
    }
}
