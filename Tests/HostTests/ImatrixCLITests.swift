import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears imatrix`, `shears prune --imatrix` and `--save-imatrix` on SmolLM2: an imatrix
/// written by Shears drives a Wanda prune with no calibration forward, bad imatrix files and
/// methods that need more than x² exit 2 with the file or method named, and an imatrix saved
/// after a structured prune fits the pruned model (and `llama-quantize`, when it is installed).
@Suite("imatrix CLI on SmolLM2", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData), .serialized)
struct ImatrixCLITests {
    static let ids = ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path
    static let calibration = ["--calib-ids", ids, "--samples", "4", "--seqlen", "64"]

    /// The bin directory of an installed llama.cpp, or nil.
    static let llamaCpp: String? = {
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/install-llamacpp.sh")
        guard let outcome = try? ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path, "--cached"]),
            outcome.status == 0
        else { return nil }
        return outcome.stdout.split(separator: "\n").last.map(String.init)
    }()

    @Test("shears imatrix writes one entry per linear matrix; prune --imatrix runs Wanda on it with no forward")
    func writeAndPrune() throws {
        let directory = try TemporaryDirectory()
        let imatrix = directory.path("smollm2.imatrix.gguf")
        let made = try CommandRunner.run(["imatrix", ReferenceData.modelPath, "--out", imatrix] + Self.calibration)
        try #require(made.status == 0, "\(made.stderr)")
        let read = try ImportanceMatrix(path: imatrix)
        #expect(read.entries.count == 30 * 7 && read.chunkCount == 4 && read.chunkSize == 64)
        #expect(read.entries.values.allSatisfy { $0.count == 256 })
        try read.check(against: try ModelLoader.load(path: ReferenceData.modelPath))
        let out = directory.path("wanda.gguf")
        let pruned = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--imatrix", imatrix, "--method", "wanda", "--sparsity", "0.5", "--out",
            out, "--type", "f16",
        ])
        try #require(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("linear sparsity 0.5000") && pruned.stdout.contains("forwards 0.0 s"))
        let model = try ModelLoader.load(path: out)
        #expect(model.metadata["shears.calibration"]?.string == "imatrix \(imatrix)")
    }

    @Test("a truncated imatrix, another model's, and methods needing more than x² exit 2 naming what is wrong")
    func badInput() throws {
        let directory = try TemporaryDirectory()
        let imatrix = directory.path("smollm2.imatrix.gguf")
        let made = try CommandRunner.run(["imatrix", ReferenceData.modelPath, "--out", imatrix] + Self.calibration)
        try #require(made.status == 0, "\(made.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: imatrix))
        let truncated = directory.path("cut.gguf")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let tiny = directory.path("tiny.imatrix.gguf")
        try ImportanceMatrix(
            path: tiny, entries: [.init(name: "blk.0.attn_q.weight", sumOfSquares: [1, 2, 3], count: 1)]
        ).write(to: tiny)
        let out = directory.path("out.gguf")
        let cases: [([String], [String])] = [
            (["--imatrix", truncated, "--method", "wanda", "--sparsity", "0.5"], [truncated]),
            (
                ["--imatrix", tiny, "--method", "wanda", "--sparsity", "0.5"],
                [tiny, "blk.0.attn_q.weight", "another model"]
            ),
            (["--imatrix", imatrix, "--method", "sparsegpt", "--sparsity", "0.5"], ["sparsegpt", "XᵀX"]),
            (["--imatrix", imatrix, "--method", "wanda", "--sparsity", "0.5", "--dsnot"], ["dsnot", "variances"]),
            (["--imatrix", imatrix, "--method", "blocks", "--param", "remove=1"], ["blocks", "structured"]),
            (["--imatrix", imatrix, "--method", "wanda", "--sparsity", "0.5", "--calib-ids", Self.ids], ["--imatrix"]),
        ]
        for (arguments, words) in cases {
            let outcome = try CommandRunner.run(["prune", ReferenceData.modelPath, "--out", out] + arguments)
            #expect(outcome.status == 2, "\(arguments): \(outcome.stderr)")
            for word in words { #expect(outcome.stderr.contains(word), "\(arguments): \(outcome.stderr)") }
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("--save-imatrix after a structured prune fits the pruned shapes, and llama-quantize accepts it")
    func afterStructuredPrune() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("minitron.gguf"), imatrix = directory.path("minitron.imatrix.gguf")
        let pruned = try CommandRunner.run(
            [
                "prune", ReferenceData.modelPath, "--method", "llm-pruner", "--param", "ratio=0.25", "--param",
                "layers=3-5", "--out", out, "--type", "f16", "--save-imatrix", imatrix,
            ] + Self.calibration)
        try #require(pruned.status == 0, "\(pruned.stderr)")
        let model = try ModelLoader.load(path: out)
        let read = try ImportanceMatrix(path: imatrix)
        try read.check(against: model)
        let down = try #require(read.entries["blk.4.ffn_down.weight"])
        #expect(down.sumOfSquares.count == model.config.layers[4].ffnSize && down.sumOfSquares.count < 1536)
        guard let bin = Self.llamaCpp else { return }
        let quantized = directory.path("q4k.gguf")
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: bin + "/llama-quantize"), ["--imatrix", imatrix, out, quantized, "Q4_K_M", "2"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("imatrix") || outcome.stderr.contains("imatrix"))
        #expect(FileManager.default.fileExists(atPath: quantized))
    }
}
