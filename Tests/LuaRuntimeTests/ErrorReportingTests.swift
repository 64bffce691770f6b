import LuaRuntime
import Testing

@Suite("Error reporting: syntax errors, runtime errors, tracebacks")
struct ErrorReportingTests {
    @Test("A syntax error is a RecipeLoadError with the file and line")
    func syntaxError() throws {
        let fixture = try RecipeFixture()
        let path = try fixture.write("recipe.lua", "local a = 1\nlocal b = 2\nlocal c = = 3\n")
        let runtime = try fixture.runtime()
        #expect {
            try runtime.run(file: path)
        } throws: { error in
            guard let error = error as? RecipeLoadError else { return false }
            return error.line == 3 && error.file == path && error.description == "\(path):3: unexpected symbol near '='"
        }
    }

    @Test(
        "Syntax errors report the line where Lua detects them",
        arguments: [
            ("x = ", 1), ("local t = {\n1,\n2\n", 4), ("\n\n\nif true then\n", 5), ("local s = 'unfinished\n", 1),
        ])
    func syntaxErrorLines(source: String, line: Int) throws {
        let runtime = try RecipeFixture().runtime()
        #expect {
            try runtime.run(source: source, name: "recipe.lua")
        } throws: { error in
            (error as? RecipeLoadError)?.line == line && (error as? RecipeLoadError)?.file == "recipe.lua"
        }
    }

    @Test("A missing recipe file is a load error naming it")
    func missingFile() throws {
        let runtime = try RecipeFixture().runtime()
        #expect(
            throws: RecipeLoadError(
                file: "/nonexistent/recipe.lua", line: nil, message: "cannot read the recipe: no such file")
        ) {
            try runtime.run(file: "/nonexistent/recipe.lua")
        }
    }

    @Test("A shebang line is skipped and line numbers are kept")
    func shebang() throws {
        let fixture = try RecipeFixture()
        let path = try fixture.write("recipe.lua", "#!/usr/bin/env shears run\nerror('here')\n")
        let runtime = try fixture.runtime()
        #expect {
            try runtime.run(file: path)
        } throws: { error in
            (error as? RecipeRuntimeError)?.message == "\(path):2: here"
        }
    }

    @Test("A runtime error carries its message and a traceback of file:line frames")
    func traceback() throws {
        let source = """
            local function inner(x)
              local value = x.field
              return value
            end
            local function outer()
              local result = inner(nil)
              return result
            end
            outer()
            """
        let runtime = try RecipeFixture().runtime()
        let error = try #require(try runtimeError(source, in: runtime))
        #expect(error.message == "recipe.lua:2: attempt to index a nil value (local 'x')")
        #expect(
            error.traceback.map(\.description) == [
                "recipe.lua:2: in upvalue 'inner'",
                "recipe.lua:6: in local 'outer'",
                "recipe.lua:9: in main chunk",
            ])
        #expect(error.limit == nil)
        #expect(
            error.description.hasPrefix(
                "recipe.lua:2: attempt to index a nil value (local 'x')\nstack traceback:\n\trecipe.lua:2: in upvalue 'inner'"
            ))
    }

    @Test("error() frames include the C function and the caller's line")
    func errorFunctionFrames() throws {
        let runtime = try RecipeFixture().runtime()
        let error = try #require(try runtimeError("local t = {}\nerror('boom')", in: runtime))
        #expect(error.message == "recipe.lua:2: boom")
        #expect(error.traceback.map(\.description) == ["[C]: in global 'error'", "recipe.lua:2: in main chunk"])
    }

    @Test("Non-string error objects are described; __tostring is honoured")
    func errorObjects() throws {
        #expect(try errorMessage("error({code = 1})") == "(error object is a table value)")
        #expect(try errorMessage("error(setmetatable({}, {__tostring = function() return 'custom' end}))") == "custom")
        #expect(try errorMessage("error(42)") == "42")
    }

    @Test("A very deep stack is abbreviated")
    func deepStack() throws {
        let runtime = try RecipeFixture().runtime()
        let error = try #require(
            try runtimeError(
                "local function f(n) if n == 0 then error('deep') end return 1 + f(n - 1) end\nf(500)", in: runtime))
        #expect(error.message == "recipe.lua:1: deep")
        #expect(error.traceback.count == 22) // 10 innermost, the elision, 11 outermost of 503 levels
        #expect(error.traceback[10].description == "...\t(skipping 482 levels)")
        #expect(error.traceback.last?.description == "recipe.lua:2: in main chunk")
    }

    @Test("Stack overflow is an error, not a crash")
    func stackOverflow() throws {
        let message = try errorMessage("local function f() return 1 + f() end\nf()")
        #expect(message?.contains("stack overflow") == true)
    }

    @Test("The runtime stays usable after an error")
    func usableAfterError() throws {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime()
        #expect(try runtimeError("error('first')", in: runtime) != nil)
        try runtime.run(source: "print('second')", name: "recipe.lua")
        #expect(fixture.output.texts(.print) == ["second"])
    }
}
