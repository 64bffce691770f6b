import Foundation
import TestSupport
import Testing

/// SIGINT and `--timeout` stop a long prune within seconds, with no output and the right status.
@Suite(.serialized, .enabled(if: ReferenceData.hasModel && ReferenceData.hasData))
struct CancellationTests {
    static let calibration = [
        "--calib-ids", ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path,
        "--calib-offsets", ReferenceData.file("wikitext2-valid.calib-64x512-seed0.offsets").path,
    ]

    /// Starts `shears` with `arguments` and progress bars on, waits until its stderr shows `marker`,
    /// sends SIGINT and returns the exit status, stderr, and seconds from the signal to the exit.
    static func interrupt(_ arguments: [String], after marker: String) throws -> (Int32, String, Double) {
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SHEARS_PROGRESS": "1"]) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let collected = Collected()
        errors.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        let start = Date()
        while !collected.text.contains(marker) && Date().timeIntervalSince(start) < 120 && process.isRunning {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(collected.text.contains(marker), "the run never showed '\(marker)': the signal may have come too early")
        let signalled = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let latency = Date().timeIntervalSince(signalled)
        errors.fileHandleForReading.readabilityHandler = nil
        collected.append(errors.fileHandleForReading.readDataToEndOfFile())
        return (process.terminationStatus, collected.text, latency)
    }

    /// Bytes gathered from a pipe on another thread.
    final class Collected: @unchecked Sendable {
        // @unchecked Sendable: every access holds the lock.
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.withLock { data.append(more) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    @Test("SIGINT during shears prune: exit 130 within seconds, no output file")
    func interruptPrune() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("pruned.gguf")
        // The progress bar's first layer line shows the prune proper has started.
        let (status, stderr, latency) = try Self.interrupt(
            ["prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--out", out]
                + Self.calibration,
            after: "prune")
        print("prune stopped \(String(format: "%.2f", latency)) s after SIGINT")
        #expect(status == 130, "\(stderr)")
        #expect(stderr.contains("interrupted (SIGINT); stopped before writing any output"), "\(stderr)")
        #expect(latency < 10, "a prune of SmolLM2 takes ~45 s; it must stop at the next matrix or window")
        // No output; the journal of the finished layers stays (and is named) only when there are some.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path(""))
        #expect(left.isEmpty || left == ["pruned.gguf.shears-journal"], "\(left)")
        #expect(left.isEmpty || stderr.contains("run the same command with --resume to continue"), "\(stderr)")
    }

    @Test("SIGINT while shears prune generates its own calibration: exit 130 within seconds, no output file")
    func interruptSelfCalibration() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("pruned.gguf")
        // 64 samples of 512 generated tokens take minutes; the progress bar shows generation began.
        let (status, stderr, latency) = try Self.interrupt(
            [
                "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--out", out,
                "--calib-generate", "--samples", "64", "--seqlen", "512",
            ],
            after: "self-calibration")
        print("self-calibration stopped \(String(format: "%.2f", latency)) s after SIGINT")
        #expect(status == 130, "\(stderr)")
        #expect(stderr.contains("interrupted (SIGINT); stopped before writing any output"), "\(stderr)")
        #expect(latency < 10, "generation must stop at its next step")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).isEmpty)
    }

    @Test("--timeout during a recipe's prune: exit 1, timed out, nothing saved")
    func timeoutRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("pruned.gguf")
        let start = Date()
        let outcome = try CommandRunner.run([
            "run", "--timeout", "4", try Self.recipe(in: workspace), "model=\(ReferenceData.modelPath)", "out=\(out)",
            "ids=\(ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path)",
        ])
        let seconds = Date().timeIntervalSince(start)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(
            outcome.stderr.contains("timed out after 4.0 s (--timeout); stopped before writing any output"),
            "\(outcome.stderr)")
        #expect(seconds < 20, "took \(seconds) s")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A recipe that prunes SmolLM2 (~45 s), catches the stop with pcall and tries to save anyway.
    static func recipe(in workspace: RecipeTests.Workspace) throws -> String {
        let path = workspace.directory.path("long.lua")
        try """
        local m = shears.load(shears.args.model)
        local calibration = shears.calibration{ model = m, ids = shears.args.ids, samples = 64, seqlen = 512 }
        local ok, err = pcall(function() shears.prune(m, calibration, { shears.wanda{ sparsity = 0.5 } }) end)
        print("prune stopped:", ok, err)
        m:save(shears.args.out)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
