import Foundation
import LuaRuntime

/// Collects the lines a runtime prints, logs and warns.
final class OutputRecorder {
    private(set) var lines: [(channel: LuaOutputChannel, text: String)] = []

    func record(_ channel: LuaOutputChannel, _ text: String) { lines.append((channel, text)) }

    /// The lines of one channel.
    func texts(_ channel: LuaOutputChannel) -> [String] { lines.filter { $0.channel == channel }.map(\.text) }
}

/// A temporary directory holding recipe files, removed when the fixture is released.
final class RecipeFixture {
    let directory: String
    let output = OutputRecorder()

    init() throws {
        // Short, so that paths stay under Lua's 60-character source-name limit and are not elided.
        directory = "/tmp/lr-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `contents` to `relativePath` (creating directories) and returns the full path.
    @discardableResult
    func write(_ relativePath: String, _ contents: String) throws -> String {
        let path = directory + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A runtime whose output goes to `output`.
    func runtime(limits: RecipeLimits = .none, libraryDirectories: [String] = []) throws -> LuaRuntime {
        let output = self.output
        return try LuaRuntime(
            configuration: .init(
                libraryDirectories: libraryDirectories,
                limits: limits,
                output: { output.record($0, $1) }
            ))
    }
}

/// Runs `source` as `recipe.lua` and returns the runtime error it raises (nil if it succeeds).
func runtimeError(_ source: String, in runtime: LuaRuntime) throws -> RecipeRuntimeError? {
    do {
        try runtime.run(source: source, name: "recipe.lua")
        return nil
    } catch let error as RecipeRuntimeError {
        return error
    }
}

/// Runs `source` in a fresh runtime and returns its error message (nil if it succeeds).
func errorMessage(_ source: String, limits: RecipeLimits = .none) throws -> String? {
    let runtime = try RecipeFixture().runtime(limits: limits)
    return try runtimeError(source, in: runtime)?.message
}

/// Runs `source` in a fresh runtime and returns what it printed.
func printed(_ source: String) throws -> [String] {
    let fixture = try RecipeFixture()
    let runtime = try fixture.runtime()
    try runtime.run(source: source, name: "recipe.lua")
    return fixture.output.texts(.print)
}
