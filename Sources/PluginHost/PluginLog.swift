import Foundation
import PluginAPI

/// A line a plugin logs through the host vtable.
public struct PluginLogMessage: Sendable {
    /// Severity.
    public enum Level: Int32, Sendable, Comparable {
        /// Diagnostic detail.
        case debug = 0
        /// Progress information.
        case info = 1
        /// Something the user should know.
        case warning = 2
        /// A failure.
        case error = 3

        /// Order of severity.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The plugin's id (`org.example.wanda`).
    public let plugin: String
    /// Severity (unknown levels from a plugin count as warnings).
    public let level: Level
    /// The text.
    public let text: String
}

/// Where plugin log lines go.
public typealias PluginLogHandler = @Sendable (PluginLogMessage) -> Void

/// The default handler: warnings and errors to standard error as `[plugin-id] warning: text`.
public let standardErrorPluginLog: PluginLogHandler = { message in
    guard message.level >= .warning else { return }
    let label = message.level == .error ? "error" : "warning"
    FileHandle.standardError.write(Data("[\(message.plugin)] \(label): \(message.text)\n".utf8))
}
