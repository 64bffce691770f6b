import LuaRuntime
import Testing

@Suite("Limits: time, instructions, memory")
struct LimitTests {
    private func failure(_ source: String, limits: RecipeLimits) throws -> RecipeRuntimeError? {
        let runtime = try RecipeFixture().runtime(limits: limits)
        return try runtimeError(source, in: runtime)
    }

    @Test("An infinite loop is stopped by the time limit")
    func timeout() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(
            try failure("local i = 0\nwhile true do i = i + 1 end", limits: RecipeLimits(time: 0.2)))
        let elapsed = clock.now - start
        #expect(error.limit == .time)
        #expect(error.message == "recipe exceeded the time limit of 0.2 s")
        #expect(error.traceback.last?.description == "recipe.lua:2: in main chunk")
        #expect(elapsed < .seconds(5))
    }

    @Test("Whole seconds are printed without decimals")
    func timeoutMessage() throws {
        let error = try #require(try failure("while true do end", limits: RecipeLimits(time: 1)))
        #expect(error.message == "recipe exceeded the time limit of 1 s")
    }

    @Test(
        "pcall, error handlers and coroutines cannot swallow the stop",
        arguments: [
            "while true do pcall(function() while true do end end) end",
            "while true do xpcall(function() while true do end end, function(e) return e end) end",
            "while true do local co = coroutine.wrap(function() while true do end end); pcall(co) end",
            "local co = coroutine.create(function() while true do end end)\nwhile true do coroutine.resume(co) end",
            "local t = setmetatable({}, {__index = function() while true do end end})\nwhile true do pcall(function() return t.x end) end",
            "while true do pcall(string.gsub, 'aaaa', 'a', function() while true do end end) end",
        ])
    func cannotSwallowTimeout(source: String) throws {
        let error = try #require(try failure(source, limits: RecipeLimits(time: 0.2)))
        #expect(error.limit == .time)
        #expect(error.message == "recipe exceeded the time limit of 0.2 s")
    }

    @Test("The instruction budget stops a long loop and allows a short one")
    func instructions() throws {
        let error = try #require(try failure("for i = 1, 1e9 do end", limits: RecipeLimits(instructions: 100_000)))
        #expect(error.limit == .instructions)
        #expect(error.message == "recipe exceeded the instruction limit of 100000 instructions")
        #expect(
            try failure("local s = 0; for i = 1, 100 do s = s + i end", limits: RecipeLimits(instructions: 100_000))
                == nil)
    }

    @Test("A string.rep bomb is stopped by the memory cap")
    func stringBomb() throws {
        let error = try #require(
            try failure("local s = string.rep('x', 1 << 30)", limits: RecipeLimits(memory: 8 << 20)))
        #expect(error.limit == .memory)
        #expect(error.message == "recipe exceeded the memory limit of 8 MB")
    }

    @Test(
        "Growing tables and doubling strings are stopped by the memory cap",
        arguments: [
            "local t = {} for i = 1, 1e9 do t[i] = {i} end",
            "local s = 'x' while true do s = s .. s end",
            "local parts = {} for i = 1, 1e9 do parts[#parts + 1] = tostring(i) .. string.rep('y', 100) end",
        ])
    func growthBombs(source: String) throws {
        let error = try #require(try failure(source, limits: RecipeLimits(memory: 16 << 20)))
        #expect(error.limit == .memory)
        #expect(error.message == "recipe exceeded the memory limit of 16 MB")
    }

    @Test("A memory error caught by pcall still stops the recipe")
    func cannotSwallowMemoryError() throws {
        let source = """
            local ok = pcall(string.rep, 'x', 1 << 30)
            local t = {}
            for i = 1, 100 do t[i] = {} end
            print('continued')
            """
        let error = try #require(try failure(source, limits: RecipeLimits(memory: 8 << 20)))
        #expect(error.limit == .memory)
    }

    @Test("Swift functions may allocate beyond the cap; the cap applies again afterwards")
    func hostAllocations() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime(limits: RecipeLimits(memory: 4 << 20))
        runtime.register("big") { _ in [.string(String(repeating: "z", count: 6 << 20))] }
        runtime.register("small") { _ in [.string("fine")] }
        let error = try #require(
            try runtimeError("local s = shears.big()\nprint('after', shears.small())\nlocal t = {}", in: runtime))
        #expect(error.limit == .memory)
        #expect(fixture.output.texts(.print).isEmpty)
        // Once the big string is garbage, Lua's emergency collection makes room again.
        try runtime.run(source: "print(#string.rep('y', 1 << 20))", name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["1048576"])
    }

    @Test("Garbage is collected before the cap is declared exceeded")
    func garbageDoesNotCount() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime(limits: RecipeLimits(memory: 8 << 20))
        try runtime.run(
            source: "for i = 1, 200 do local s = string.rep('x', 1 << 20) .. i end print('done')", name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["done"])
    }

    @Test("Script code run while reporting an error (__tostring) stays under the cap and the time limit")
    func errorObjectMetamethods() throws {
        let runtime = try RecipeFixture().runtime(limits: RecipeLimits(memory: 8 << 20, time: 0.2))
        let memoryBomb = "error(setmetatable({}, {__tostring = function() return string.rep('x', 1 << 30) end}))"
        #expect(try runtimeError(memoryBomb, in: runtime)?.limit == .memory)
        let endless = "error(setmetatable({}, {__tostring = function() while true do end end}))"
        #expect(try runtimeError(endless, in: runtime)?.limit == .time)
        runtime.close()
        #expect(runtime.memoryInUse == 0)
    }

    @Test("Swift functions run with the collector stopped; the cap holds around them")
    func churnThroughSwift() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime(limits: RecipeLimits(memory: 8 << 20))
        runtime.register("churn") { _ in [.array((0..<1000).map { .string("item \($0)") })] }
        try runtime.run(
            source: "for i = 1, 200 do shears.churn() end\nprint(collectgarbage('count') < 8 * 1024)",
            name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["true"])
    }

    @Test("A loop in a __close handler is stopped by the time limit")
    func loopingClose() throws {
        let source = "do local x <close> = setmetatable({}, {__close = function() while true do end end}) end"
        #expect(try failure(source, limits: RecipeLimits(time: 0.2))?.limit == .time)
    }

    @Test("A recipe within its limits runs normally; memory use is reported")
    func withinLimits() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime(limits: RecipeLimits(memory: 64 << 20, time: 10, instructions: 10_000_000))
        try runtime.run(source: "local t = {} for i = 1, 1000 do t[i] = i end print(#t)", name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["1000"])
        #expect(runtime.memoryInUse > 0 && runtime.memoryInUse < 64 << 20)
    }

    @Test(
        "Byte counts parse with binary suffixes",
        arguments: [
            ("64M", 64 << 20), ("512k", 512 << 10), ("2G", 2 << 30), ("1048576", 1 << 20), ("64MB", 64 << 20),
        ])
    func byteCounts(text: String, bytes: Int) {
        #expect(RecipeLimits.byteCount(parsing: text) == bytes)
    }

    @Test("Invalid byte counts are rejected", arguments: ["", "M", "-5M", "12X", "0", "99999999999999G"])
    func invalidByteCounts(text: String) {
        #expect(RecipeLimits.byteCount(parsing: text) == nil)
    }
}
