import Foundation
import ModelIO
import TestSupport
import Testing

/// The acceptance checks of the foundation on SmolLM2-135M-Instruct, through the binary.
@Suite("shears CLI on SmolLM2", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData), .serialized)
struct RealModelCLITests {
    static let testText = ReferenceData.file("wikitext2-test.txt").path

    /// Runs `eval --json` and returns the report.
    static func eval(_ model: String, _ extra: [String]) throws -> [String: Any] {
        let outcome = try CommandRunner.run(["eval", model, "--text", testText, "--json"] + extra)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    }

    @Test("first 2048-token chunk of WikiText-2 test: perplexity 15.1467 within 0.05%")
    func chunkPerplexity() throws {
        let report = try Self.eval(ReferenceData.modelPath, ["--seqlen", "2048", "--chunks", "1"])
        let ppl = try #require(report["ppl"] as? Double)
        #expect(abs(ppl / 15.14666 - 1) < 5e-4, "ppl \(ppl)")
        #expect(report["tokens"] as? Int == 2048)
    }

    @Test("greedy generation reproduces the reference continuation")
    func greedy() throws {
        let outcome = try CommandRunner.run([
            "generate", ReferenceData.modelPath, "--prompt", "The capital of France is",
            "--max-tokens", "12", "--show-ids",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last(where: { !$0.isEmpty }) == "7042 30 198 198 504 2988 314 42 216 34 32 33")
        #expect(outcome.stdout.hasPrefix("The capital of France is Paris."))
    }

    @Test("the model converted to a safetensors directory evaluates the same")
    func safetensorsRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("smollm2-hf")
        let convert = try CommandRunner.run(["convert", ReferenceData.modelPath, "--out", out, "--type", "f32"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let dense = try Self.eval(ReferenceData.modelPath, ["--seqlen", "512", "--chunks", "2"])
        let converted = try Self.eval(out, ["--seqlen", "512", "--chunks", "2"])
        let a = try #require(dense["ppl"] as? Double), b = try #require(converted["ppl"] as? Double)
        #expect(abs(a - b) <= 1e-5 * a, "\(a) vs \(b)")
    }

    @Test("Shortened LLaMA's setting: 6 of 30 blocks removed by perplexity, a llama GGUF of 24 layers")
    func blockRemoval() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("shortened.gguf")
        let outcome = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--method", "blocks", "--param", "remove=6",
            "--calib-ids", ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path, "--samples", "10",
            "--seqlen", "128", "--seed", "1234", "--out", out, "--type", "f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        print(outcome.stdout)
        let line = try #require(
            outcome.stdout.split(separator: "\n").first { $0.hasPrefix("blocks-ppl: removed blocks [") })
        let removed = line.dropFirst("blocks-ppl: removed blocks [".count).prefix { $0 != "]" }
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(removed.count == 6 && removed.allSatisfy { (4...27).contains($0) }, "\(removed)")
        let file = try GGUFFile(path: out)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["llama.block_count"]?.int == 24)
        let report = try Self.eval(out, ["--seqlen", "512", "--chunks", "2"])
        let ppl = try #require(report["ppl"] as? Double)
        print("SmolLM2 without blocks \(removed): perplexity \(ppl) (2 chunks of 512)")
        #expect(ppl.isFinite && ppl > 15)
    }
}
