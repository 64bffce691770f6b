import Foundation
import TestSupport
import Testing

/// Resuming a killed prune: `shears prune` journals each finished layer beside its output, and
/// `--resume` after a `kill -9` writes a file bit-identical to an uninterrupted run's.
@Suite("resuming a killed prune", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData))
struct ResumeCLITests {
    static let ids = ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path

    static func prune(_ out: String, _ extra: [String] = [], samples: Int = 6) -> [String] {
        [
            "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--calib-ids", ids,
            "--samples", "\(samples)", "--seqlen", "128", "--out", out,
        ] + extra
    }

    /// Layers committed in the journal at `directory` (0 while it has none).
    static func committedLayers(_ directory: String) -> Int {
        guard let data = FileManager.default.contents(atPath: directory + "/journal.json"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return 0 }
        return (json["layers"] as? [Any])?.count ?? 0
    }

    @Test("kill -9 after a few layers, --resume: bit-identical to the uninterrupted prune; journal removed")
    func killAndResume() throws {
        let directory = try TemporaryDirectory()
        let reference = directory.path("reference.gguf"), resumed = directory.path("resumed.gguf")
        let uninterrupted = try CommandRunner.run(Self.prune(reference, ["--no-journal"]))
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: reference + ".shears-journal"))

        let journal = resumed + ".shears-journal"
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = Self.prune(resumed)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while Self.committedLayers(journal) < 4, process.isRunning, Date() < deadline { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let done = Self.committedLayers(journal)
        try #require(done >= 4 && done < 30, "the prune was killed after \(done) layers")
        #expect(!FileManager.default.fileExists(atPath: resumed))

        // Starting afresh would bury the journal; resuming another run is refused; both exit 2.
        let fresh = try CommandRunner.run(Self.prune(resumed))
        #expect(fresh.status == 2 && fresh.stderr.contains("add --resume to continue it"), "\(fresh.stderr)")
        let other = try CommandRunner.run(Self.prune(resumed, ["--resume"], samples: 5))
        #expect(other.status == 2 && other.stderr.contains("the calibration windows differ"), "\(other.stderr)")

        let resume = try CommandRunner.run(Self.prune(resumed, ["--resume"]))
        #expect(resume.status == 0, "\(resume.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: reference))
        let b = try Data(contentsOf: URL(fileURLWithPath: resumed))
        #expect(a == b, "the resumed file differs from the uninterrupted one (killed after \(done) layers)")
        #expect(!FileManager.default.fileExists(atPath: journal))
        let nothing = try CommandRunner.run(Self.prune(directory.path("none.gguf"), ["--resume"]))
        #expect(nothing.status == 2 && nothing.stderr.contains("no journal to resume"), "\(nothing.stderr)")
    }

    @Test(
        "shears.prune{ journal = dir, resume = true } starts afresh without a journal, continues one, and save removes it"
    )
    func recipeJournal() throws {
        let directory = try TemporaryDirectory()
        let recipe = directory.path("r.lua")
        try """
        local a = shears.args
        local m = shears.load(a:string("model"))
        local c = shears.calibration{ ids = a:string("ids"), samples = 2, seqlen = 64 }
        shears.prune(m, c, { shears.wanda{ sparsity = 0.5 }, targets = { "blk.0.*", "blk.1.*" },
                             journal = a:string("journal"), resume = true })
        if a.stop then error("stopped after the prune") end
        m:save(a:string("out"))
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        let journal = directory.path("journal"), out = directory.path("out.gguf")
        let arguments = ["run", recipe, "model=\(ReferenceData.modelPath)", "ids=\(Self.ids)", "journal=\(journal)"]
        let stopped = try CommandRunner.run(arguments + ["out=\(out)", "stop=1"])
        #expect(stopped.status != 0)
        #expect(Self.committedLayers(journal) == 2)
        let continued = try CommandRunner.run(arguments + ["out=\(out)"])
        #expect(continued.status == 0, "\(continued.stderr)")
        #expect(FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: journal))
        let plain = directory.path("plain.gguf")
        let reference = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--calib-ids", Self.ids,
            "--samples", "2", "--seqlen", "64", "--target", "blk.0.*", "--target", "blk.1.*", "--out", plain,
            "--no-journal",
        ])
        #expect(reference.status == 0, "\(reference.stderr)")
        let a = try PruneCLITests.linearSparsity(out), b = try PruneCLITests.linearSparsity(plain)
        #expect(a == b)
    }
}
