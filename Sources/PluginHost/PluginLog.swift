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

/// The default handler: info, warnings and errors to standard error as
/// `[plugin-id] warning: text` (debug lines are dropped).
public let standardErrorPluginLog: PluginLogHandler = { message in
    let label: String
    switch message.level {
    case .debug: return
    case .info: label = "info"
    case .warning: label = "warning"
    case .error: label = "error"
    }
    FileHandle.standardError.write(Data("[\(message.plugin)] \(label): \(message.text)\n".utf8))
}
