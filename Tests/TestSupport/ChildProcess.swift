import Foundation

/// What one run of a child process printed and how it exited.
public struct ProcessOutcome: Sendable {
    /// Exit status.
    public let status: Int32
    /// Everything written to stdout.
    public let output: Data
    /// Everything written to stderr.
    public let errors: Data

    /// stdout as text.
    public var stdout: String { String(decoding: output, as: UTF8.self) }
    /// stderr as text.
    public var stderr: String { String(decoding: errors, as: UTF8.self) }
}

/// Runs child processes for tests, capturing both output streams.
public enum ChildProcess {
    /// Runs `executable` with `arguments` (stdin empty, `environment` added to ours) and waits.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> ProcessOutcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so that neither fills up and blocks the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        return ProcessOutcome(status: process.terminationStatus, output: outData, errors: errData)
    }
}
