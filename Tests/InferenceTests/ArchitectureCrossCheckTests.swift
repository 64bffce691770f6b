import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Tiny random models of each architecture Shears runs, made by transformers
/// (`Scripts/tiny_arch_models.py` in the reference environment of `Scripts/install-refenv.sh`):
/// Shears loads each from safetensors and through its own GGUF conversion, and its logits and
/// greedy continuation must equal transformers'; with the llama.cpp tools built, llama-perplexity
/// on that GGUF gives Shears' log-probabilities and libllama (`llama-greedy`) Shears' greedy
/// continuation.
/// Runs only when that environment exists.
/// Serialized: llama-perplexity runs compete for the two cores otherwise.
@Suite(.serialized) struct ArchitectureCrossCheckTests {
    /// What the script computed with transformers.
    struct Reference {
        /// The prompt.
        let ids: [Int32]
        /// One row of logits per prompt position.
        let logits: [[Float]]
        /// The greedy continuation (no end-of-sequence stop).
        let greedy: [Int32]
    }

    /// Whether the reference environment exists.
    static var available: Bool { FileManager.default.isExecutableFile(atPath: TorchGradientCrossCheckTests.python) }

    /// Makes the tiny `arch` model in `directory/arch` (with TinyModel's byte-level tokenizer) and
    /// returns its path and transformers' outputs for a 24-token prompt.
    static func fixture(_ arch: String, in directory: TemporaryDirectory) throws -> (String, Reference) {
        let tokenizerDirectory = directory.path("tokenizer")
        if !FileManager.default.fileExists(atPath: tokenizerDirectory) {
            try HuggingFaceModelWriter.write(
                try TinyModel.make(seed: 1), to: tokenizerDirectory, type: .f32, metadata: [:])
        }
        let prompt = (0..<24).map { String(($0 * 37 + 11) % 290) }.joined(separator: ",")
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/tiny_arch_models.py").path
        let output = directory.path(arch)
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: TorchGradientCrossCheckTests.python),
            [script, arch, output, "--tokenizer", tokenizerDirectory, "--ids", prompt, "--seed", "7"])
        try #require(outcome.status == 0, "tiny_arch_models.py \(arch) failed: \(outcome.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: output + "/reference.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ids = try #require(json["ids"] as? [Int]).map(Int32.init)
        let logits = try #require(json["logits"] as? [[Double]]).map { $0.map(Float.init) }
        let greedy = try #require(json["greedy"] as? [Int]).map(Int32.init)
        return (output, Reference(ids: ids, logits: logits, greedy: greedy))
    }

    /// Checks `model`'s logits (largest difference within 1e-4 of the largest logit) and greedy
    /// continuation (up to its end-of-sequence token) against `reference`.
    static func expectMatches(_ model: Model, _ reference: Reference, _ label: String) throws {
        let vocab = model.config.vocabSize
        let forward = try ForwardPass(model: model, capacity: reference.ids.count)
        let logits = try forward.logits(appending: reference.ids)
        let expected = reference.logits.flatMap { $0 }
        try #require(logits.count == expected.count, "\(label): \(logits.count) logits vs \(expected.count)")
        let scale = expected.map { abs($0) }.max() ?? 1
        let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4 * scale, "\(label): largest logit difference \(worst) (largest logit \(scale))")
        #expect(vocab == reference.logits[0].count)
        let greedy = try Generator(model: model).generate(prompt: reference.ids, maxTokens: reference.greedy.count)
        let end = model.tokenizer.vocabulary.eosID
        let expectedGreedy = reference.greedy.firstIndex(of: end ?? -1).map { Array(reference.greedy[...$0]) }
        #expect(greedy == expectedGreedy ?? reference.greedy, "\(label): greedy continuation")
    }

    @Test(
        "tiny transformers models load from safetensors and through Shears' GGUF with transformers' logits",
        .enabled(if: available), arguments: ["llama3", "linear", "mistral", "qwen2", "qwen3", "yarn"])
    func matchesTransformers(arch: String) throws {
        let directory = try TemporaryDirectory()
        let (path, reference) = try Self.fixture(arch, in: directory)
        let model = try HuggingFaceModelReader.load(directory: path)
        try Self.expectMatches(model, reference, "\(arch) safetensors")

        let gguf = directory.path("\(arch).gguf")
        try ModelWriter.write(model, to: gguf, type: .f32)
        let reread = try ModelLoader.load(path: gguf)
        try Self.expectMatches(reread, reference, "\(arch) GGUF")
        // Llama 3.1 scaling travels as llama.cpp's per-frequency factors.
        var expected = model.config
        if case .llama3 = expected.ropeScaling {
            expected.ropeScaling = .frequencyFactors(
                expected.ropeScaling.divisors(headDim: expected.headDim, base: expected.ropeTheta) ?? [])
        }
        #expect(reread.config == expected)
        #expect(reread.config.slidingWindow == (arch == "mistral" ? 8 : nil))
        // And llama.cpp runs the dense GGUF as Shears does.
        if let tools = LlamaCppCrossCheckTests.tools {
            try ArchitecturePruningTests.expectLlamaCppAgrees(
                gguf, arch: arch, label: "dense", tools: tools, directory: directory)
        }
    }
}
