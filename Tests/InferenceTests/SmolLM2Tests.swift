import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// The acceptance targets on the real SmolLM2-135M model and the shared WikiText-2 reference data.
@Suite(.serialized, .enabled(if: ReferenceData.hasModel && ReferenceData.hasData))
struct SmolLM2Tests {
    static func firstChunk() throws -> [Int32] {
        Array(try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32").prefix(2048))
    }

    @Test("the first 2048 test ids give the reference NLLs and perplexity")
    func firstChunkNLL() throws {
        let model = try SmolLM2Loader.shared.get()
        let tokens = try Self.firstChunk()
        let expected = try ReferenceData.float32s("chunk0-nll.f32")
        let result = try PerplexityEvaluator(model: model).evaluate(tokens: tokens, seqlen: 2048)
        let nll = try ForwardPass(model: model, capacity: 2048).negativeLogLikelihoods(tokens)
        #expect(nll.count == expected.count)
        let worst = zip(nll, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 2e-3, "worst NLL difference \(worst)")
        #expect(abs(result.perplexity / 15.14666 - 1) <= 5e-4, "perplexity \(result.perplexity)")
        #expect(result.chunks == 1 && result.tokens == 2048 && !result.exceedsContextLength)
    }

    @Test("argmax and logits at the first positions match the reference")
    func firstLogits() throws {
        let model = try SmolLM2Loader.shared.get()
        let tokens = Array(try Self.firstChunk().prefix(8))
        let logits = try ForwardPass(model: model, capacity: 8).logits(appending: tokens)
        let vocab = model.config.vocabSize
        let argmax = (0..<8).map { row in
            (0..<vocab).max { logits[row * vocab + $0] < logits[row * vocab + $1] }!
        }
        #expect(argmax == [29, 216, 506, 30, 1491, 198, 216, 33])
        for (id, value) in [Float(13.33038), 3.09441, 5.97716, 1.79875].enumerated() {
            #expect(abs(logits[id] - value) <= 2e-3, "logit \(id) at position 0: \(logits[id])")
        }
    }

    @Test("greedy generation continues the reference prompt")
    func greedyGeneration() throws {
        let model = try SmolLM2Loader.shared.get()
        var streamed: [Int32] = []
        let output = try Generator(model: model).generate(prompt: [504, 3575, 282, 4649, 314], maxTokens: 12) {
            streamed.append($0)
            return true
        }
        #expect(output == [7042, 30, 198, 198, 504, 2988, 314, 42, 216, 34, 32, 33])
        #expect(streamed == output)
    }

    @Test(
        "a heterogeneous SmolLM2 (units removed in several layers, one block removed) evaluates as the zeroed dense model"
    )
    func heterogeneousEqualsZeroed() throws {
        let shrunk = try SmolLM2Loader.load(ReferenceData.modelPath)
        let zeroed = try SmolLM2Loader.load(ReferenceData.modelPath)
        let headDim = shrunk.config.headDim, ffn = shrunk.config.layers[0].ffnSize
        func zero(_ layer: Int, _ part: LlamaTensorNames.Layer, _ columns: [Int]) {
            let tensor = zeroed.tensor(part.name(layer: layer))!
            for row in 0..<tensor.rows {
                for column in columns { tensor.storage.buffer[row * tensor.columns + column] = 0 }
            }
        }
        func headColumns(_ heads: [Int]) -> [Int] { heads.flatMap { $0 * headDim..<($0 + 1) * headDim } }
        let channels = Array(stride(from: 1, to: ffn, by: 3))
        // One query head per KV group in layer 3 (9 heads over 3 groups of 3).
        try shrunk.remove(.queryHeads(layer: 3, [0, 4, 8]))
        zero(3, .attentionOutput, headColumns([0, 4, 8]))
        try shrunk.remove(.kvGroups(layer: 10, [1]))
        zero(10, .attentionOutput, headColumns([3, 4, 5]))
        try shrunk.remove(.ffnChannels(layer: 5, channels))
        zero(5, .down, channels)
        try shrunk.remove(.attention(layer: 25))
        zero(25, .attentionOutput, headColumns(Array(0..<9)))
        try shrunk.remove(.blocks([20]))
        zero(20, .attentionOutput, headColumns(Array(0..<9)))
        zero(20, .down, Array(0..<ffn))
        #expect(shrunk.config.layerCount == 29)
        #expect(shrunk.parameterCount < zeroed.parameterCount)
        let tokens = Array(try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32").prefix(4 * 512))
        let expected = try PerplexityEvaluator(model: zeroed).evaluate(tokens: tokens, seqlen: 512)
        let actual = try PerplexityEvaluator(model: shrunk).evaluate(tokens: tokens, seqlen: 512)
        #expect(
            abs(actual.perplexity / expected.perplexity - 1) <= 1e-5,
            "shrunk \(actual.perplexity), zeroed \(expected.perplexity)")
        #expect(expected.perplexity > 1 && expected.perplexity.isFinite)
    }

    /// The whole WikiText-2 test perplexity at seqlen 2048 (148 chunks, minutes of CPU); run with
    /// `SHEARS_FULL_PERPLEXITY=1`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SHEARS_FULL_PERPLEXITY"] == "1"))
    func wholeTestPerplexity() throws {
        let model = try SmolLM2Loader.shared.get()
        let tokens = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let result = try PerplexityEvaluator(model: model).evaluate(tokens: tokens, seqlen: 2048) { done, total in
            if done % 10 == 0 || done == total { print("chunk \(done)/\(total)") }
        }
        print("perplexity \(result.perplexity) over \(result.chunks) chunks in \(result.seconds) s")
        #expect(result.chunks == 148)
        #expect(abs(result.perplexity / 21.6084 - 1) <= 5e-4, "perplexity \(result.perplexity)")
    }
}
