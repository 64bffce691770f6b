import Foundation
import Inference
import TestSupport
import Testing

@Suite struct PerplexityEvaluatorTests {
    @Test("perplexity is exp of the mean of chunk-mean NLLs, remainder dropped")
    func protocolOnTinyModel() throws {
        let model = try TinyModel.make()
        let tokens = ForwardPassTests.tokens(100, vocab: 300, seed: 5)
        var reported: [(Int, Int)] = []
        let result = try PerplexityEvaluator(model: model).evaluate(tokens: tokens, seqlen: 30) {
            reported.append(($0, $1))
        }
        #expect(result.chunks == 3 && result.tokens == 90 && result.seqlen == 30 && !result.exceedsContextLength)
        #expect(reported.map(\.0) == [1, 2, 3] && reported.allSatisfy { $0.1 == 3 })
        var means: [Double] = []
        for chunk in 0..<3 {
            let piece = Array(tokens[chunk * 30..<(chunk + 1) * 30])
            let nll = ReferenceForward.negativeLogLikelihoods(
                logits: ReferenceForward.logits(model, piece), tokens: piece)
            means.append(nll.reduce(0, +) / Double(nll.count))
        }
        for (a, e) in zip(result.chunkMeanNLLs, means) { #expect(abs(a - e) <= 1e-5) }
        #expect(abs(result.perplexity / Foundation.exp(means.reduce(0, +) / 3) - 1) <= 1e-5)
        let limited = try PerplexityEvaluator(model: model).evaluate(tokens: tokens, seqlen: 30, maxChunks: 2)
        #expect(limited.chunks == 2 && limited.chunkMeanNLLs == Array(result.chunkMeanNLLs.prefix(2)))
        let long = try PerplexityEvaluator(model: model).evaluate(tokens: Array(repeating: 3, count: 300), seqlen: 300)
        #expect(long.exceedsContextLength)
    }

    @Test("bad arguments throw clear errors")
    func badArguments() throws {
        let evaluator = PerplexityEvaluator(model: try TinyModel.make())
        let tokens = [Int32](repeating: 1, count: 50)
        #expect(throws: InferenceError("perplexity seqlen 1 must be at least 2")) {
            try evaluator.evaluate(tokens: tokens, seqlen: 1)
        }
        #expect(throws: InferenceError("50 tokens do not fill one chunk of seqlen 64")) {
            try evaluator.evaluate(tokens: tokens, seqlen: 64)
        }
        #expect(throws: InferenceError.self) { try evaluator.evaluate(tokens: tokens, seqlen: 10, maxChunks: 0) }
        #expect(throws: InferenceError.self) { try evaluator.evaluate(tokens: tokens + [-1], seqlen: 51) }
    }
}
