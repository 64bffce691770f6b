import Foundation
import PluginHost
import TestSupport

/// The example and fixture plugins SwiftPM builds next to the `shears` executable.
enum BuiltPlugins {
    /// The build directory (`.build/release`).
    static var directory: URL { CommandRunner.binary.deletingLastPathComponent() }

    /// The path of product `name` (`ShearsWandaPlugin`, `ShearsFixtureNaNScores`, ...).
    static func path(_ name: String) -> String { directory.appendingPathComponent("lib\(name).so").path }

    /// Loads product `name`, keeping warnings out of the test log.
    static func load(_ name: String) throws -> PluginLibrary {
        try PluginLibrary(path: path(name), log: { _ in })
    }

    /// The error loading product `name` (or the file at `path`) throws, or nil if it loads.
    static func loadError(path: String) -> PluginError? {
        do throws(PluginError) {
            _ = try PluginLibrary(path: path, log: { _ in })
            return nil
        } catch {
            return error
        }
    }
}
