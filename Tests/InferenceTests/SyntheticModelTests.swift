import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// `SyntheticModel`: random models of a given shape, streamed to GGUF, that load back, run with
/// finite and spread-out logits, depend on the seed alone, and run in llama.cpp as in Shears.
@Suite("synthetic models")
struct SyntheticModelTests {
    static func config(context: Int = 256) throws -> LlamaConfig {
        try SyntheticShape.custom(
            layers: 2, hidden: 64, ffn: 96, heads: 4, kvHeads: 2, vocab: 300, context: context, path: "<test>")
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test(
        "each type loads back with the requested types and runs with finite, non-degenerate logits",
        arguments: OutputType.allCases)
    func loadsAndRuns(type: OutputType) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("synth.gguf")
        let config = try Self.config()
        let infos = try SyntheticModel.write(config: config, type: type, seed: 7, name: "test", to: path)
        #expect(infos.map(\.name) == LlamaTensorNames.expected(config).map(\.name))
        let file = try GGUFFile(path: path)
        #expect(file.tensors.first { $0.name == "blk.1.ffn_down.weight" }?.type == type.ggmlType)
        #expect(file.tensors.first { $0.name == "blk.1.ffn_norm.weight" }?.type == .f32)

        let model = try ModelLoader.load(path: path)
        #expect(model.config == config)
        #expect(model.tokenizer.encode("the cat").count > 1)
        let tokens = model.tokenizer.encode("the cat sat on the mat, and then the dog ran in the rain")
        let logits = try ForwardPass(model: model, capacity: tokens.count).logits(appending: tokens)
        #expect(logits.allSatisfy { $0.isFinite })
        // Spread of about 1 per position: neither flat nor one-hot.
        let vocab = config.vocabSize
        for position in [0, tokens.count - 1] {
            let row = logits[(position * vocab)..<((position + 1) * vocab)]
            let mean = row.reduce(0, +) / Float(vocab)
            let deviation = (row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(vocab)).squareRoot()
            #expect(deviation > 0.3 && deviation < 3, "logit standard deviation \(deviation) at \(position)")
        }
    }

    @Test("the same seed gives the same bytes; another seed other weights")
    func deterministic() throws {
        let directory = try TemporaryDirectory()
        let config = try Self.config()
        let a = directory.path("a.gguf"), b = directory.path("b.gguf"), c = directory.path("c.gguf")
        try SyntheticModel.write(config: config, type: .q4_0, seed: 11, name: "test", to: a)
        try SyntheticModel.write(config: config, type: .q4_0, seed: 11, name: "test", to: b)
        try SyntheticModel.write(config: config, type: .q4_0, seed: 12, name: "test", to: c)
        #expect(try Self.bytes(a) == Self.bytes(b))
        #expect(try Self.bytes(a).count == Self.bytes(c).count)
        #expect(try Self.bytes(a) != Self.bytes(c))
        // Tensors within one file differ too (every chunk has its own seed).
        let model = try ModelLoader.load(path: a)
        let gate = try #require(model.tensor("blk.0.ffn_gate.weight")),
            up = try #require(model.tensor("blk.0.ffn_up.weight"))
        #expect(Array(gate.storage.buffer[0..<64]) != Array(up.storage.buffer[0..<64]))
    }

    @Test("named shapes have their architecture's dimensions")
    func namedShapes() throws {
        let llama3 = try #require(SyntheticShape.llama3_8b.config)
        #expect(llama3.vocabSize == 128_256 && llama3.layers[0].kvHeadCount == 8 && llama3.layers[0].ffnSize == 14336)
        let llama2 = try #require(SyntheticShape.llama2_7b.config)
        let parameters = LlamaTensorNames.expected(llama2).reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(parameters == 6_738_415_616) // Llama-2-7B's published count
        for shape in SyntheticShape.allCases where shape != .custom {
            try #require(shape.config).validate(path: shape.rawValue)
        }
        #expect(SyntheticShape.custom.config == nil)
        #expect(SyntheticShape.qwen25_7b.config?.attentionBiases == true)
    }

    @Test(
        "bad custom dimensions are refused, naming the option",
        arguments: [
            ([0, 64, 96, 4, 2, 300], "--layers"), ([2, 64, 96, 5, 1, 300], "--heads"),
            ([2, 64, 96, 4, 3, 300], "--kv-heads"), ([2, 64, 96, 4, 0, 300], "--kv-heads"),
            ([2, 64, 0, 4, 2, 300], "--ffn"), ([2, 64, 96, 4, 2, 256], "--vocab"), ([2, 12, 96, 4, 2, 300], "--heads"),
        ])
    func badDimensions(values: [Int], option: String) throws {
        let error = #expect(throws: ModelIOError.self) {
            _ = try SyntheticShape.custom(
                layers: values[0], hidden: values[1], ffn: values[2], heads: values[3], kvHeads: values[4],
                vocab: values[5], context: 256, path: "x.gguf")
        }
        #expect(error?.item == option, "\(String(describing: error))")
    }

    @Test(
        "llama-perplexity runs a synthetic model (llama; qwen2 with q/k/v biases) within 1% of Shears' perplexity",
        .enabled(if: LlamaCppCrossCheckTests.tools != nil && ReferenceData.hasData), arguments: [false, true])
    func llamaCpp(biases: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("synth.gguf"), textPath = directory.path("text.txt")
        var config = try Self.config(context: 512)
        config.attentionBiases = biases
        try SyntheticModel.write(config: config, type: .f16, seed: 3, name: "test", to: path)
        #expect(try GGUFFile(path: path).metadata["general.architecture"]?.string == (biases ? "qwen2" : "llama"))
        let full = try String(contentsOf: ReferenceData.file("wikitext2-test.txt"), encoding: .utf8)
        let text = String(full.replacingOccurrences(of: "\r\n", with: "\n").prefix(8000))
        try text.write(toFile: textPath, atomically: true, encoding: .utf8)
        // llama-perplexity prints its running estimate after each chunk ("[4]486.68,"); its log
        // thread may drop the last lines at exit on a model this fast, so six chunks run, one per
        // batch, and the estimate after the fourth is read.
        let llama = try ChildProcess.run(
            URL(fileURLWithPath: LlamaCppCrossCheckTests.tools! + "/llama-perplexity"),
            ["-m", path, "-f", textPath, "-c", "128", "--chunks", "6", "-b", "128", "-t", "2"])
        try #require(llama.status == 0, "\(llama.stderr)")
        let log = llama.stdout + llama.stderr
        let marker = try #require(log.range(of: "[4]"), "\(log.suffix(2000))")
        let theirs = try #require(Double(log[marker.upperBound...].prefix { $0.isNumber || $0 == "." }))

        let model = try ModelLoader.load(path: path)
        let ids = model.tokenizer.encode(text)
        try #require(ids.count >= 4 * 128)
        let forward = try ForwardPass(model: model, capacity: 128)
        var total = 0.0, count = 0
        for chunk in 0..<4 {
            let nll = try forward.negativeLogLikelihoods(Array(ids[chunk * 128..<(chunk + 1) * 128]))
            for value in nll[64...] {
                total += Double(value)
                count += 1
            }
        }
        let ours = exp(total / Double(count))
        #expect(abs(ours / theirs - 1) <= 0.01, "Shears \(ours), llama.cpp \(theirs)")
    }
}
