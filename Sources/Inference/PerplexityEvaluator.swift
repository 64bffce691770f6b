import Foundation
import ModelIO

/// The outcome of a perplexity evaluation.
public struct PerplexityResult: Sendable, Equatable {
    /// exp of the average of the chunk mean NLLs.
    public var perplexity: Double
    /// Number of chunks evaluated.
    public var chunks: Int
    /// Tokens per chunk.
    public var seqlen: Int
    /// Tokens evaluated (`chunks × seqlen`).
    public var tokens: Int
    /// Wall-clock seconds of the evaluation.
    public var seconds: Double
    /// Mean NLL of the `seqlen - 1` predictions of each chunk, in order.
    public var chunkMeanNLLs: [Double]
    /// Whether `seqlen` exceeds the model's trained context length (the result is then of little
    /// meaning; the CLI should warn).
    public var exceedsContextLength: Bool
    /// Time per forward phase summed over all chunks.
    public var phaseTimes: ForwardPhaseTimes
}

/// Perplexity by the Wanda/SparseGPT protocol: non-overlapping chunks of `seqlen` ids (the
/// remainder dropped), each run as an independent sequence; the mean NLL of its `seqlen - 1`
/// next-id predictions per chunk; the average of the chunk means, exponentiated.
public struct PerplexityEvaluator {
    /// The model evaluated.
    public let model: Model

    /// Checked before every chunk: evaluation stops with an `InferenceError` carrying the reason.
    public let cancellation: Cancellation?

    /// Creates an evaluator for `model`, stoppable through `cancellation`.
    public init(model: Model, cancellation: Cancellation? = nil) {
        self.model = model
        self.cancellation = cancellation
    }

    /// Evaluates `tokens`; `maxChunks` limits the number of chunks (nil: all); `progress` is called
    /// after each chunk with the chunks done and the total.
    ///
    /// A `seqlen` longer than the model's context length is allowed (flagged in the result).
    ///
    /// - Throws: `InferenceError` if `seqlen < 2`, `maxChunks < 1`, the tokens do not fill one chunk,
    ///   or an id is outside the vocabulary.
    public func evaluate(
        tokens: [Int32], seqlen: Int, maxChunks: Int? = nil,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(InferenceError) -> PerplexityResult {
        guard seqlen >= 2 else { throw InferenceError("perplexity seqlen \(seqlen) must be at least 2") }
        if let maxChunks, maxChunks < 1 { throw InferenceError("maximum chunk count \(maxChunks) must be at least 1") }
        guard tokens.count >= seqlen else {
            throw InferenceError("\(tokens.count) tokens do not fill one chunk of seqlen \(seqlen)")
        }
        let total = min(tokens.count / seqlen, maxChunks ?? Int.max)
        let start = DispatchTime.now().uptimeNanoseconds
        // Whole chunks from position 0: one key/value buffer for all layers.
        let forward = try ForwardPass(model: model, capacity: seqlen, keepsCache: false)
        var means: [Double] = []
        for chunk in 0..<total {
            try cancellation?.check()
            let nll = try forward.negativeLogLikelihoods(Array(tokens[chunk * seqlen..<(chunk + 1) * seqlen]))
            means.append(nll.reduce(0.0) { $0 + Double($1) } / Double(nll.count))
            progress?(chunk + 1, total)
        }
        let mean = means.reduce(0, +) / Double(total)
        return PerplexityResult(
            perplexity: exp(mean), chunks: total, seqlen: seqlen, tokens: total * seqlen,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, chunkMeanNLLs: means,
            exceedsContextLength: seqlen > model.config.contextLength, phaseTimes: forward.phaseTimes)
    }
}
