import ArgumentParser
import LuaRuntime
import Recipes

/// `shears run RECIPE.lua [key=value ...] [-- extra ...]`: runs a Lua recipe headless.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Lua recipe.",
        discussion: """
            key=value pairs arrive in the recipe as shears.args (strings; read them with \
            shears.args:number("k", default), :integer, :boolean, :string); words after -- are \
            its sequence part. The recipe runs in a sandbox: no io, os, debug or C modules; \
            require finds Lua files beside the recipe, in --lib-dir directories and in \
            Scripts/lib. A syntax error exits 2, a runtime error prints a traceback and exits 1. \
            See docs/lua-api.md.
            """)

    @Argument(help: "The recipe file.", completion: .file(extensions: ["lua"]))
    var recipe: String

    @Argument(parsing: .allUnrecognized, help: "key=value pairs, then -- and extra arguments.")
    var arguments: [String] = []

    @Option(help: "Stop the recipe after this many seconds.")
    var timeout: Double?

    @Option(help: "Cap the Lua heap (e.g. 64MB, 1GB). Model weights are not counted: they live outside Lua.")
    var maxMemory: String?

    @Option(help: "Another directory for require (repeatable).", completion: .directory)
    var libDir: [String] = []

    @Option(
        help:
            "A directory where shears.plugin finds relative plugin paths (repeatable; default: the recipe's directory).",
        completion: .directory)
    var pluginDir: [String] = []

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        if let maxMemory, RecipeLimits.byteCount(parsing: maxMemory) == nil {
            throw ValidationError("--max-memory: '\(maxMemory)' is not a size such as 64MB or 1GB")
        }
    }

    func run() throws {
        let scope = CancellationScope(timeout: timeout)
        var runner = RecipeRunner()
        runner.cancellation = scope.cancellation
        runner.libraryDirectories = libDir
        runner.limits = RecipeLimits(memory: maxMemory.flatMap(RecipeLimits.byteCount(parsing:)), time: timeout)
        runner.pluginDirectories = pluginDir
        do {
            try runner.run(file: recipe, arguments: arguments)
        } catch let error as RecipeLoadError {
            throw CommandFailure.badInput(error.description)
        } catch let error as RecipeRuntimeError {
            // A prune or evaluation stopped by SIGINT or the deadline surfaces as a Lua error.
            if let failure = scope.failure { throw failure }
            throw CommandFailure.runFailed(error.description)
        }
        // A recipe that caught the stop with pcall still ends as stopped.
        if let failure = scope.failure { throw failure }
    }
}
