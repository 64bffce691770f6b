import LuaRuntime
import Testing

@Suite("require: recipe directory, library directories, refused names")
struct RequireTests {
    @Test("Modules load from the recipe's directory first, then the library directories")
    func searchOrder() throws {
        let fixture = try RecipeFixture()
        try fixture.write("recipes/shared.lua", "return 'recipe dir'")
        try fixture.write("lib/shared.lua", "return 'lib dir'")
        try fixture.write("lib/only.lua", "return {name = 'only in lib'}")
        try fixture.write("lib/nested/deep.lua", "local name = ... return name")
        let recipe = try fixture.write(
            "recipes/recipe.lua",
            """
            print(require('shared'), require('only').name, require('nested.deep'))
            print(require('only') == require('only'))
            """)
        let runtime = try fixture.runtime(libraryDirectories: [fixture.directory + "/lib"])
        try runtime.run(file: recipe)
        #expect(fixture.output.texts(.print) == ["recipe dir\tonly in lib\tnested.deep", "true"])
    }

    @Test("Modules run with the strict environment")
    func modulesAreStrict() throws {
        let fixture = try RecipeFixture()
        try fixture.write("bad.lua", "leak = true\nreturn {}")
        let recipe = try fixture.write("recipe.lua", "require('bad')")
        let runtime = try fixture.runtime()
        #expect {
            try runtime.run(file: recipe)
        } throws: { error in
            (error as? RecipeRuntimeError)?.message
                == "\(fixture.directory)/bad.lua:1: assignment to undeclared global 'leak' (declare it with 'local')"
        }
    }

    @Test(
        "Paths, parent directories and odd names are refused",
        arguments: [
            "../secret", "/etc/passwd", "a/b", "..", "lib..x", ".hidden", "x.", "", "name with space",
        ])
    func refusedNames(name: String) throws {
        let message = try errorMessage("require('\(name)')")
        #expect(
            message
                == "recipe.lua:1: bad argument #1 to 'require' (invalid module name '\(name)': use names such as 'util' or 'lib.util', not paths)"
        )
    }

    @Test("A missing module lists the files tried")
    func notFound() throws {
        let fixture = try RecipeFixture()
        let recipe = try fixture.write("recipe.lua", "require('missing.mod')")
        let runtime = try fixture.runtime(libraryDirectories: ["/nonexistent/lib"])
        #expect {
            try runtime.run(file: recipe)
        } throws: { error in
            (error as? RecipeRuntimeError)?.message
                == "\(recipe):1: module 'missing.mod' not found:\n\tno file '\(fixture.directory)/missing/mod.lua'\n\tno file '/nonexistent/lib/missing/mod.lua'"
        }
    }

    @Test("An error in a nested module names the module's file and line in message and traceback")
    func nestedModuleError() throws {
        let fixture = try RecipeFixture()
        try fixture.write("outer.lua", "local inner = require('inner')\nlocal result = inner.run()\nreturn result")
        try fixture.write("inner.lua", "local M = {}\nfunction M.run()\n  error('inner failed')\nend\nreturn M")
        let recipe = try fixture.write("recipe.lua", "local x = 1\nrequire('outer')")
        let runtime = try fixture.runtime()
        let error = try #require(try catchRuntimeError { try runtime.run(file: recipe) })
        #expect(error.message == "\(fixture.directory)/inner.lua:3: inner failed")
        let frames = error.traceback.compactMap { frame in frame.line.map { "\(frame.source):\($0)" } }
        #expect(
            frames == [
                "\(fixture.directory)/inner.lua:3",
                "\(fixture.directory)/outer.lua:2",
                "\(recipe):2",
            ])
    }

    @Test("A syntax error in a module is reported with the module's file and line")
    func moduleSyntaxError() throws {
        let fixture = try RecipeFixture()
        try fixture.write("broken.lua", "local x =\n\n")
        let recipe = try fixture.write("recipe.lua", "require('broken')")
        let runtime = try fixture.runtime()
        let error = try #require(try catchRuntimeError { try runtime.run(file: recipe) })
        #expect(error.message.hasPrefix("\(recipe):1: error loading module 'broken':\n\t"))
        #expect(error.message.hasSuffix("broken.lua:3: unexpected symbol near <eof>"))
    }

    @Test("Circular requires are reported")
    func circular() throws {
        let fixture = try RecipeFixture()
        try fixture.write("a.lua", "return require('b')")
        try fixture.write("b.lua", "return require('a')")
        let recipe = try fixture.write("recipe.lua", "require('a')")
        let runtime = try fixture.runtime()
        let error = try #require(try catchRuntimeError { try runtime.run(file: recipe) })
        #expect(error.message.hasSuffix("b.lua:1: module 'a' is being loaded (circular require) or failed to load"))
    }

    @Test("A directory named like a module is not loaded")
    func directoryIsNotAModule() throws {
        let fixture = try RecipeFixture()
        try fixture.write("dir.lua/placeholder.lua", "return 1")
        let recipe = try fixture.write("recipe.lua", "require('dir')")
        let runtime = try fixture.runtime()
        let error = try #require(try catchRuntimeError { try runtime.run(file: recipe) })
        #expect(error.message.hasSuffix("dir.lua': not a regular file"))
    }
}

/// The RecipeRuntimeError thrown by `body`, or nil if it succeeds.
func catchRuntimeError(_ body: () throws -> Void) throws -> RecipeRuntimeError? {
    do {
        try body()
        return nil
    } catch let error as RecipeRuntimeError {
        return error
    }
}
