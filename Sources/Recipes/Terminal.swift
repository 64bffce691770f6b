import Foundation

/// Output helpers: stderr messages and a progress bar shown on a terminal (or when asked for).
package enum Terminal {
    /// Whether progress bars are drawn: stderr is an interactive terminal, or the environment sets
    /// `SHEARS_PROGRESS=1` (for logs and for tests that watch a run's progress through a pipe).
    package static let showsProgress =
        isatty(STDERR_FILENO) != 0 || ProcessInfo.processInfo.environment["SHEARS_PROGRESS"] == "1"

    /// Writes `message` and a newline to stderr.
    package static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Writes `text` to stdout immediately (for streaming generation).
    package static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// A one-line progress bar on stderr: items done, rate, ETA. Silent unless `Terminal.showsProgress`.
package final class ProgressBar {
    private let label: String
    private let total: Int
    private let unit: String
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let enabled: Bool

    /// Creates a bar for `total` steps; `unit` names what the rate counts (e.g. "tok").
    package init(_ label: String, total: Int, unit: String, enabled: Bool = Terminal.showsProgress) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled
    }

    /// Redraws after `done` steps, `work` units of work so far (for the rate).
    package func update(done: Int, work: Double) {
        guard enabled else { return }
        let now = ContinuousClock.now
        guard done == total || now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        let elapsed = Self.seconds(now - start)
        let fraction = Double(done) / Double(total)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = elapsed > 0 ? work / elapsed : 0
        let eta = done > 0 ? elapsed * Double(total - done) / Double(done) : 0
        let line = "\(label) [\(bar)] \(done)/\(total)  \(Int(rate)) \(unit)/s  ETA \(Self.clock(eta))"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Clears the bar's line.
    package func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
