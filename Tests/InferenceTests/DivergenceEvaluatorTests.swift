import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

@Suite struct DivergenceEvaluatorTests {
    /// The tiny model with every other weight of every layer matrix zeroed: a stand-in for a prune.
    static func pruned(seed: UInt64 = 1) throws -> Model {
        let model = try TinyModel.make(seed: seed)
        for tensor in model.tensors where tensor.name.hasPrefix("blk.") && tensor.shape.count == 2 {
            for i in stride(from: 0, to: tensor.count, by: 2) { tensor.storage.buffer[i] = 0 }
        }
        return model
    }

    @Test("KLD, same top, Δp and both perplexities match a double-precision reference on the second halves")
    func matchesReference() throws {
        let base = try TinyModel.make(seed: 1), model = try Self.pruned()
        let tokens = ForwardPassTests.tokens(100, vocab: 300, seed: 9)
        let seqlen = 32
        let result = try DivergenceEvaluator(model: model).compare(base: base, tokens: tokens, seqlen: seqlen)
        #expect(result.chunks == 3 && result.positions == 3 * 15 && result.seqlen == 32)

        var kld = 0.0, same = 0, nll = 0.0, nllBase = 0.0, deltaP2 = 0.0, count = 0
        var values: [Double] = []
        for chunk in 0..<3 {
            let window = Array(tokens[chunk * seqlen..<(chunk + 1) * seqlen])
            let p = ReferenceForward.logits(base, window), q = ReferenceForward.logits(model, window)
            for row in (seqlen / 2)..<(seqlen - 1) {
                let lp = Self.logSoftmax(p[row]), lq = Self.logSoftmax(q[row])
                let value = zip(lp, lq).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
                kld += value
                values.append(value)
                if lp.indices.max(by: { lp[$0] < lp[$1] }) == lq.indices.max(by: { lq[$0] < lq[$1] }) { same += 1 }
                let target = Int(window[row + 1])
                nll -= lq[target]
                nllBase -= lp[target]
                deltaP2 += pow(exp(lq[target]) - exp(lp[target]), 2)
                count += 1
            }
        }
        let n = Double(count)
        #expect(abs(result.kld.value / (kld / n) - 1) < 2e-3, "\(result.kld.value) vs \(kld / n)")
        #expect(result.kld.stderr > 0)
        #expect(result.sameTop.value == Double(same) / n)
        #expect(abs(result.perplexity.value / exp(nll / n) - 1) < 1e-4)
        #expect(abs(result.basePerplexity.value / exp(nllBase / n) - 1) < 1e-3)
        #expect(abs(result.deltaPRMS.value / (deltaP2 / n).squareRoot() - 1) < 2e-3)
        let median = values.sorted()[values.count / 2]
        #expect(abs(result.kldPercentiles[5] / median - 1) < 5e-3, "median \(result.kldPercentiles[5]) vs \(median)")
        #expect(result.kldRange.upperBound >= result.kldPercentiles[0] && result.kldRange.lowerBound >= 0)
    }

    @Test("a model against itself: KLD about 0, same top everywhere, equal perplexities")
    func selfComparison() throws {
        let base = try TinyModel.make(seed: 3)
        let tokens = ForwardPassTests.tokens(128, vocab: 300, seed: 4)
        let result = try DivergenceEvaluator(model: base).compare(base: base, tokens: tokens, seqlen: 64)
        #expect(result.kld.value < 1e-6 && result.kld.value > -1e-6)
        #expect(result.sameTop.value == 1)
        #expect(abs(result.perplexity.value / result.basePerplexity.value - 1) < 1e-4)
        #expect(result.deltaPRMS.value < 1e-4)
    }

    @Test("a saved base file gives the same figures as the base model, and holds the tokens")
    func baseFileRoundTrip() throws {
        let base = try TinyModel.make(seed: 1), model = try Self.pruned()
        let tokens = ForwardPassTests.tokens(200, vocab: 300, seed: 2)
        let directory = try TemporaryDirectory()
        let path = directory.path("base.kld")
        let evaluator = DivergenceEvaluator(model: model)
        let direct = try evaluator.compare(base: base, tokens: tokens, seqlen: 48, saveBase: path)
        let file = try LlamaCppLogitsFile(path: path)
        #expect(file.context == 48 && file.chunks == 4 && file.vocabularySize == 300)
        #expect(file.tokens == Array(tokens[0..<192]))
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size == 20 + 4 * 192 + 4 * 23 * (300 + 4) * 2)
        var fromFile = try evaluator.compare(base: file)
        fromFile.seconds = direct.seconds
        #expect(fromFile == direct)
        let two = try evaluator.compare(base: file, maxChunks: 2)
        #expect(two.chunks == 2 && two.positions == 46)
    }

    @Test("truncated, foreign and mismatched base files are refused, naming the file and the entry")
    func badBaseFiles() throws {
        let base = try TinyModel.make(seed: 1)
        let tokens = ForwardPassTests.tokens(96, vocab: 300, seed: 2)
        let directory = try TemporaryDirectory()
        let path = directory.path("base.kld")
        _ = try DivergenceEvaluator(model: base).compare(base: base, tokens: tokens, seqlen: 32, saveBase: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))

        let truncated = directory.path("truncated.kld")
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: truncated))
        let error = try #require(throws: ModelIOError.self) { try LlamaCppLogitsFile(path: truncated) }
        #expect(error.path == truncated && error.item == "window 2" && error.message.contains("truncated"))

        let short = directory.path("short.kld")
        try bytes.prefix(30).write(to: URL(fileURLWithPath: short))
        #expect(throws: ModelIOError.self) { try LlamaCppLogitsFile(path: short) }

        let foreign = directory.path("foreign.bin")
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: foreign))
        #expect(!LlamaCppLogitsFile.isLogitsFile(foreign) && LlamaCppLogitsFile.isLogitsFile(path))
        #expect(throws: ModelIOError.self) { try LlamaCppLogitsFile(path: foreign) }

        var other = TinyModel.config
        other.vocabSize = 320
        let wider = try TinyModel.make(other, seed: 1)
        let mismatch = try #require(throws: ModelIOError.self) {
            try DivergenceEvaluator(model: wider).compare(base: try LlamaCppLogitsFile(path: path))
        }
        #expect(mismatch.path == path && mismatch.item == "n_vocab")
        let modelMismatch = try #require(throws: ModelIOError.self) {
            try DivergenceEvaluator(model: wider).compare(base: base, tokens: tokens, seqlen: 32)
        }
        #expect(modelMismatch.item == "vocabulary")
        #expect(throws: ModelIOError.self) {
            try LlamaCppLogitsWriter(path: path, context: 32, vocab: 300, tokens: tokens)
        }
    }

    static func logSoftmax(_ logits: [Double]) -> [Double] {
        let top = logits.max()!
        let sum = logits.reduce(0.0) { $0 + exp($1 - top) }
        return logits.map { $0 - top - log(sum) }
    }
}
