import Foundation
import Inference
import LuaRuntime

/// Runs a recipe file with the `shears` module installed: what `shears run` does, usable in
/// process (the tests run recipes this way).
package struct RecipeRunner {
    /// Extra directories for `require`, searched before `SHEARS_LUA_PATH` and `Scripts/lib`.
    package var libraryDirectories: [String] = []
    /// Memory and time limits of the Lua side.
    package var limits = RecipeLimits.none
    /// The `--plugin-dir` directories for `shears.plugin` (none: the recipe's directory).
    package var pluginDirectories: [String] = []
    /// Stops long computations started by the recipe (prunes, perplexity) when cancelled.
    package var cancellation: Cancellation?
    /// Where `print`, log and warning lines go.
    package var output: (LuaOutputChannel, String) -> Void = LuaRuntime.writeToStandardStreams

    /// A runner with the given output and no extra directories or limits.
    package init(output: @escaping (LuaOutputChannel, String) -> Void = LuaRuntime.writeToStandardStreams) {
        self.output = output
    }

    /// Runs the recipe at `path` with `arguments` (`key=value` pairs, then `--` and extra words).
    ///
    /// - Throws: `CommandFailure.badInput` for malformed arguments, `RecipeLoadError` for a recipe
    ///   that does not compile, `RecipeRuntimeError` for one that fails.
    package func run(file path: String, arguments: [String]) throws {
        let recipeArguments: RecipeArguments
        do {
            recipeArguments = try RecipeArguments(parsing: arguments)
        } catch {
            throw CommandFailure.badInput("\(error)")
        }
        var libraries = libraryDirectories
        if let environment = ProcessInfo.processInfo.environment["SHEARS_LUA_PATH"] {
            libraries += environment.split(separator: ":").map(String.init)
        }
        libraries.append("Scripts/lib")
        let runtime = try LuaRuntime(
            configuration: .init(
                version: ShearsVersion.number, libraryDirectories: libraries,
                limits: limits, output: output))
        defer { runtime.close() }
        let plugins = PluginSearchPath(
            directories: pluginDirectories, recipeDirectory: (path as NSString).deletingLastPathComponent)
        ShearsModule(
            recipe: RecipeProvenance(path: path, arguments: arguments), pluginSearch: plugins,
            cancellation: cancellation
        ).install(into: runtime)
        try runtime.run(file: path, arguments: recipeArguments)
    }
}
