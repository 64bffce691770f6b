import Foundation
import Inference
import ModelIO
import Testing
import TestSupport

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
