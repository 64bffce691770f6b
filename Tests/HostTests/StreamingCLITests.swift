import Foundation
import ModelIO
import TestSupport
import Testing

/// `--stream` on SmolLM2: a streamed prune (through the journal, or the scratch file without one)
/// writes the same bytes as the resident one, and a streamed evaluation gives the same figures; a
/// scratch directory that cannot be written fails with exit 2 and leaves no output.
@Suite("streamed models through the CLI", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData), .serialized)
struct StreamingCLITests {
    static let ids = ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path

    /// Runs `shears prune` and returns the written file's bytes.
    static func prune(
        _ method: String, _ label: String, _ extra: [String], in directory: TemporaryDirectory
    ) throws -> Data {
        let out = directory.path("\(method)-\(label).gguf")
        let outcome = try CommandRunner.run(
            [
                "prune", ReferenceData.modelPath, "--method", method, "--sparsity", "0.5", "--samples", "4",
                "--seqlen", "128", "--calib-ids", ids, "--out", out,
            ] + extra)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    @Test(
        "a streamed prune writes the resident prune's bytes (Wanda, SparseGPT, magnitude; journal or scratch file)",
        arguments: ["wanda", "sparsegpt", "magnitude"])
    func sameBytes(method: String) throws {
        let directory = try TemporaryDirectory()
        let resident = try Self.prune(method, "resident", ["--no-stream"], in: directory)
        #expect(try Self.prune(method, "journal", ["--stream"], in: directory) == resident)
        let scratch = ["--stream", "--no-journal", "--scratch-dir", directory.path("")]
        #expect(try Self.prune(method, "scratch", scratch, in: directory) == resident)
        // The scratch file is unlinked as soon as it is made.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path("")).allSatisfy { $0.hasSuffix(".gguf") }
        )
    }

    @Test("--max-memory below the activations keeps them in a scratch file (same bytes); below one window: exit 2")
    func activationSpill() throws {
        let directory = try TemporaryDirectory()
        // 4 × 128 tokens: 2.25 MiB of activations; one window needs about 2.9 MiB with its workspace.
        let resident = try Self.prune("wanda", "memory", [], in: directory)
        let out = directory.path("spilled.gguf")
        let arguments = [
            "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--samples", "4",
            "--seqlen", "128", "--calib-ids", Self.ids, "--stream", "--scratch-dir", directory.path(""),
        ]
        let spilled = try CommandRunner.run(arguments + ["--out", out, "--max-memory", "4M"])
        #expect(spilled.status == 0, "\(spilled.stderr)")
        #expect(spilled.stderr.contains("exceeded --max-memory and were kept in a scratch file"), "\(spilled.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == resident)

        let refused = try CommandRunner.run(
            arguments + ["--out", directory.path("refused.gguf"), "--max-memory", "1M"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("below what one calibration window needs"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("refused.gguf")))
    }

    @Test("a streamed evaluation and generation give the resident figures exactly")
    func evaluation() throws {
        func eval(_ flag: String) throws -> String {
            let outcome = try CommandRunner.run([
                "eval", ReferenceData.modelPath, "--text", ReferenceData.file("wikitext2-test.txt").path,
                "--seqlen", "256", "--chunks", "2", "--json", flag,
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            // Everything but the timings.
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            return "\(report["ppl"]!) \(report["tokens"]!) \(report["chunk_nll"] ?? "")"
        }
        #expect(try eval("--stream") == eval("--no-stream"))
        func generate(_ flag: String) throws -> String {
            let outcome = try CommandRunner.run([
                "generate", ReferenceData.modelPath, "--prompt", "The capital of France is", "--max-tokens", "6",
                "--show-ids", flag,
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            return outcome.stdout
        }
        #expect(try generate("--stream") == generate("--no-stream"))
    }

    @Test("a scratch directory that cannot be written: exit 2, the directory named, nothing written")
    func badScratch() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("out.gguf")
        let outcome = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--samples", "2",
            "--seqlen", "64", "--calib-ids", Self.ids, "--out", out, "--stream", "--no-journal",
            "--scratch-dir", directory.path("missing"),
        ])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(directory.path("missing")) && outcome.stderr.contains("--scratch-dir"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).isEmpty)
    }
}
