import Foundation
import ModelIO
import TestSupport
import Testing

/// Shears' `eval --base` against stock llama-perplexity's `--kl-divergence` on SmolLM2 and a
/// Wanda-50% prune of it written by shears, each reading the other's base file. Runs when the
/// llama.cpp tools are built (`Scripts/install-llamacpp.sh`).
@Suite(.serialized) struct LlamaCppDivergenceTests {
    static let context = 512, chunks = 4

    /// Runs Scripts/llamacpp-kld.sh; returns the numbers on its last line.
    static func llamaCpp(_ arguments: [String]) throws -> [Double] {
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [ReferenceData.packageRoot.appendingPathComponent("Scripts/llamacpp-kld.sh").path] + arguments,
            environment: ["LLAMACPP_BIN": LlamaCppCrossCheckTests.tools!])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let last = outcome.stdout.split(separator: "\n").last ?? ""
        return last.split(separator: " ").compactMap { Double($0) }
    }

    /// Runs `shears eval --json` with `arguments`; returns (kld_mean, same_top, ppl, ppl_base).
    static func shears(_ arguments: [String]) throws -> [Double] {
        let outcome = try CommandRunner.run(["eval"] + arguments + ["--json"])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        return try ["kld_mean", "same_top", "ppl", "ppl_base"].map { try #require(report[$0] as? Double) }
    }

    @Test(
        "KLD and same-top share agree with llama-perplexity within 2% on a Wanda-50% SmolLM2, with either tool's base file",
        .enabled(if: LlamaCppCrossCheckTests.enabled))
    func crossCheck() throws {
        let directory = try TemporaryDirectory()
        let pruned = directory.path("wanda50.gguf")
        let prune = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--calib-ids",
            ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path, "--samples", "16", "--seqlen", "256",
            "--out", pruned, "--type", "f16",
        ])
        try #require(prune.status == 0, "\(prune.stderr)")
        let text = ReferenceData.file("wikitext2-test.txt").path
        let theirBase = directory.path("llamacpp.kld"), ourBase = directory.path("shears.kld")

        _ = try Self.llamaCpp(["base", ReferenceData.modelPath, text, "\(Self.context)", "\(Self.chunks)", theirBase])
        let theirs = try Self.llamaCpp(["compare", pruned, theirBase])
        let ours = try Self.shears([
            pruned, "--base", ReferenceData.modelPath, "--text", text, "--seqlen", "\(Self.context)", "--chunks",
            "\(Self.chunks)", "--save-base", ourBase,
        ])
        let oursOnTheirBase = try Self.shears([pruned, "--base", theirBase])
        let theirsOnOurBase = try Self.llamaCpp(["compare", pruned, ourBase])

        // Both tools read the same text into the same windows.
        let (a, b) = (try LlamaCppLogitsFile(path: theirBase), try LlamaCppLogitsFile(path: ourBase))
        #expect(a.tokens == b.tokens && a.context == b.context && a.chunks == b.chunks)

        print("KLD, same top, PPL, PPL(base) (4 x 512, Wanda 50% SmolLM2):")
        print("  llama.cpp on its base: \(theirs)")
        print("  shears from the model: \(ours)")
        print("  shears on llama.cpp's base: \(oursOnTheirBase)")
        print("  llama.cpp on shears' base: \(theirsOnOurBase)")
        #expect(ours[0] > 0.05, "a 50% prune should diverge noticeably, KLD \(ours[0])")
        for (name, other) in [
            ("shears", ours), ("shears on llama.cpp's base", oursOnTheirBase),
            ("llama.cpp on shears' base", theirsOnOurBase),
        ] {
            for (index, label) in ["KLD", "same top", "PPL", "PPL(base)"].enumerated() {
                #expect(
                    abs(other[index] / theirs[index] - 1) <= 0.02,
                    "\(name) \(label) \(other[index]) vs llama.cpp \(theirs[index])")
            }
        }
    }
}
