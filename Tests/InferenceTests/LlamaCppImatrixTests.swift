import Foundation
import ModelIO
import TestSupport
import Testing

/// An imatrix made by stock `llama-imatrix` on the calibration windows drives Shears' Wanda to
/// the masks of Shears' own imatrix on those windows and, up to the documented difference
/// (Shears' engine gathers layer L's statistics after pruning layers < L; an imatrix holds the
/// dense model's), to the masks of a calibrated prune, with perplexity within 2%. Runs when the
/// llama.cpp tools are built.
@Suite(.serialized) struct LlamaCppImatrixTests {
    static let context = 128, chunks = 4

    /// Per linear matrix, the fraction of entries whose zero/nonzero state agrees in `a` and `b`.
    static func agreement(_ a: Model, _ b: Model) -> [String: Double] {
        var result: [String: Double] = [:]
        for name in a.tensorNames where name.hasPrefix("blk.") && a.tensor(name)!.shape.count == 2 {
            let x = a.tensor(name)!.storage.buffer, y = b.tensor(name)!.storage.buffer
            let same = zip(x, y).filter { ($0 == 0) == ($1 == 0) }.count
            result[name] = Double(same) / Double(x.count)
        }
        return result
    }

    static func perplexity(_ model: String) throws -> Double {
        let outcome = try CommandRunner.run([
            "eval", model, "--ids", ReferenceData.file("wikitext2-test.smollm2-ids.i32").path, "--seqlen", "256",
            "--chunks", "4", "--json",
        ])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        return try #require(report["ppl"] as? Double)
    }

    @Test(
        "Wanda 50% on llama-imatrix's file: masks as Shears' own imatrix, close to a calibrated prune, perplexity within 2%",
        .enabled(if: LlamaCppCrossCheckTests.enabled))
    func crossCheck() throws {
        let directory = try TemporaryDirectory()
        let text = ReferenceData.file("wikitext2-valid.txt").path
        let theirs = directory.path("llamacpp.imatrix.gguf"), ours = directory.path("shears.imatrix.gguf")
        let made = try ChildProcess.run(
            URL(fileURLWithPath: LlamaCppCrossCheckTests.tools! + "/llama-imatrix"),
            [
                "-m", ReferenceData.modelPath, "-f", text, "-c", "\(Self.context)", "-b", "\(Self.context)",
                "--chunks", "\(Self.chunks)", "--no-ppl", "-t", "2", "-o", theirs,
            ])
        try #require(made.status == 0, "\(made.stderr)")
        // llama-imatrix reads consecutive windows from the start of the text (SmolLM2 adds no BOS).
        let offsets = directory.path("offsets.txt")
        try (0..<Self.chunks).map { "\($0 * Self.context)\n" }.joined().write(
            toFile: offsets, atomically: true, encoding: .utf8)
        let windows = ["--calib", text, "--calib-offsets", offsets, "--seqlen", "\(Self.context)"]
        let imatrixRun = try CommandRunner.run(["imatrix", ReferenceData.modelPath, "--out", ours] + windows)
        try #require(imatrixRun.status == 0, "\(imatrixRun.stderr)")

        // The statistics themselves: every entry of ours is in theirs, close per channel.
        let (a, b) = (try ImportanceMatrix(path: theirs), try ImportanceMatrix(path: ours))
        #expect(Set(a.entries.keys) == Set(b.entries.keys))
        #expect(a.entries.values.allSatisfy { $0.count == Double(Self.context * Self.chunks) })
        var deviations: [Double] = []
        for (name, entry) in b.entries {
            for (x, y) in zip(a.meanSquares(of: name)!, entry.meanSquares) where y > 0 {
                deviations.append(abs(Double(x) / Double(y) - 1))
            }
        }
        deviations.sort()
        let median = deviations[deviations.count / 2]
        print("imatrix mean x², llama.cpp vs shears: median relative deviation \(median)")
        #expect(median < 0.02)

        var models: [String: String] = [:]
        for (label, source) in [
            ("theirs", ["--imatrix", theirs]), ("ours", ["--imatrix", ours]), ("engine", windows),
        ] {
            let out = directory.path("\(label).gguf")
            let pruned = try CommandRunner.run(
                [
                    "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--out", out, "--type",
                    "f16",
                ]
                    + source)
            try #require(pruned.status == 0, "\(pruned.stderr)")
            models[label] = out
        }
        let load = { (label: String) throws -> Model in try ModelLoader.load(path: models[label]!) }
        let sameFile = Self.agreement(try load("theirs"), try load("ours"))
        let sameEngine = Self.agreement(try load("theirs"), try load("engine"))
        let mean = { (values: [String: Double]) in values.values.reduce(0, +) / Double(values.count) }
        print(
            String(
                format: "identical mask entries: llama.cpp imatrix vs shears imatrix mean %.4f (min %.4f); "
                    + "vs the calibrated prune mean %.4f (min %.4f, layer 0 min %.4f)",
                mean(sameFile), sameFile.values.min()!, mean(sameEngine), sameEngine.values.min()!,
                sameEngine.filter { $0.key.hasPrefix("blk.0.") }.values.min()!))
        #expect(sameFile.values.min()! > 0.97)
        #expect(sameEngine.filter { $0.key.hasPrefix("blk.0.") }.values.min()! > 0.97)
        #expect(mean(sameEngine) > 0.85)
        let (pplTheirs, pplEngine) = (try Self.perplexity(models["theirs"]!), try Self.perplexity(models["engine"]!))
        print("perplexity (4 x 256 test): llama.cpp imatrix \(pplTheirs), calibrated \(pplEngine)")
        #expect(abs(pplTheirs / pplEngine - 1) < 0.02)
    }
}
