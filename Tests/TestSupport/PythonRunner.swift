import Foundation

/// Runs `python3` (found on `PATH`) for reference checks against PyPI packages.
public enum PythonRunner {
    /// Runs `python3` with `arguments` (a script path or `-c` and code, then its arguments) and waits.
    public static func run(_ arguments: [String]) throws -> ProcessOutcome {
        try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments)
    }

    /// Runs `python3` with `arguments` and returns its stdout; throws with its stderr when it fails.
    @discardableResult
    public static func output(_ arguments: [String]) throws -> Data {
        let outcome = try run(arguments)
        guard outcome.status == 0 else { throw Failure(status: outcome.status, stderr: outcome.stderr) }
        return outcome.output
    }

    /// Whether `python3` can import every module in `modules`.
    public static func canImport(_ modules: [String]) -> Bool {
        (try? run(["-c", "import " + modules.joined(separator: ", ")]))?.status == 0
    }

    /// A `python3` run that exited with a non-zero status.
    public struct Failure: Error, CustomStringConvertible {
        /// Exit status.
        public let status: Int32
        /// What it wrote to stderr.
        public let stderr: String

        /// A failure with `status` and `stderr` (or what a caller found wrong with the output).
        public init(status: Int32, stderr: String) {
            self.status = status
            self.stderr = stderr
        }

        /// A one-line summary followed by stderr.
        public var description: String { "python3 exited with status \(status): \(stderr)" }
    }
}
