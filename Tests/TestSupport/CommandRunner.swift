import Foundation

/// Runs the built `shears` binary, as a user would, and captures what it prints.
public enum CommandRunner {
    /// The `shears` executable: `$SHEARS_BINARY`, or the one beside the test bundle in the build folder.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["SHEARS_BINARY"] { return URL(fileURLWithPath: path) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The runner may live inside the .xctest bundle on some platforms.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("shears")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return ReferenceData.packageRoot.appendingPathComponent(".build/release/shears")
    }

    /// Runs `shears` with `arguments` and waits for it.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutcome {
        try ChildProcess.run(binary, arguments, environment: environment)
    }
}

/// A fresh temporary directory, removed when the value is deinitialised.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory.
    public let url: URL

    /// Creates a new empty directory under the system's temporary folder.
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shears-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
