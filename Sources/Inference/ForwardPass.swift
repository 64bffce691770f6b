import Foundation
import Kernels
import ModelIO

/// The LLaMA forward pass over a key/value cache: batched prefill of many tokens at once, or
/// one token at a time for generation, in Float32 with OpenBLAS products and SIMD kernels.
///
/// Each call appends tokens at the next positions; `reset()` starts a new sequence. Buffers are
/// allocated once for `capacity` positions. Not thread-safe: use one instance per thread.
public final class ForwardPass {
    /// The model being run (its tensors are read afresh on every call).
    public let model: Model
    /// The most positions one sequence may hold.
    public let capacity: Int
    /// The model's shape when this forward pass was created (its buffers fit it).
    private let config: LlamaConfig
    /// Number of positions already in the cache.
    public private(set) var position = 0
    /// Time spent per phase since creation (or since the caller last reset it).
    public var phaseTimes = ForwardPhaseTimes()
    /// Decoder layers to leave out, as if their blocks were removed (each adds nothing to the
    /// residual stream): what depth-pruning criteria score. Empty by default.
    public var skippedLayers: Set<Int> = []
    /// SCOP's selection layers, one per decoder layer (nil leaves a layer unmixed), applied to a
    /// whole sequence from position 0 (`negativeLogLikelihoods`); empty for none.
    package var mixes: [UnitMix?] = [] {
        didSet { precondition(mixes.isEmpty || mixes.count == config.layerCount, "mixes: one per layer") }
    }
    /// Threads that share the attention work (each running single-threaded BLAS); 1 lets
    /// OpenBLAS thread each product instead.
    public var attentionWorkers: Int { attention.workers }

    /// Query positions per attention score block, by default.
    public static let defaultAttentionBlock = 64
    /// Rows per block of logits in the loss.
    public static let headBlock = 256

    private let workspace: ForwardWorkspace
    private let rotary: RotaryTable
    private let attention: CausalAttention

    /// Whether each layer keeps its keys and values between calls (false: one buffer shared by
    /// all layers, so only whole sequences from position 0 run, as evaluations do).
    public let keepsCache: Bool

    /// Prepares buffers for sequences of up to `capacity` positions; `attentionWorkers` defaults
    /// to OpenBLAS's thread count; `attentionBlock` is the number of query positions per score
    /// block (a tuning knob: the block's scores should stay in cache). Without `keepsCache` the
    /// layers share one key/value buffer, so memory does not grow with depth, and a call that
    /// appends to an earlier one is refused.
    ///
    /// - Throws: `InferenceError` if `capacity` or `attentionBlock` is not positive.
    public init(
        model: Model, capacity: Int, attentionWorkers: Int? = nil, attentionBlock: Int = defaultAttentionBlock,
        keepsCache: Bool = true
    ) throws(InferenceError) {
        guard capacity >= 1 else { throw InferenceError("forward pass capacity \(capacity) must be at least 1") }
        guard attentionBlock >= 1 else { throw InferenceError("attention block \(attentionBlock) must be at least 1") }
        let config = model.config
        self.model = model
        self.config = config
        self.capacity = capacity
        self.keepsCache = keepsCache
        workspace = ForwardWorkspace(
            config: config, rows: capacity, logitRows: min(Self.headBlock, capacity), cacheRows: capacity,
            sharedCache: !keepsCache)
        rotary = RotaryTable(
            positions: capacity, headDim: config.headDim, base: config.ropeTheta, scaling: config.ropeScaling)
        attention = CausalAttention(
            config: config, capacity: capacity, block: attentionBlock,
            workers: attentionWorkers ?? blasThreadCount())
    }

    /// Forgets the cached positions; the next call starts a new sequence at position 0.
    public func reset() { position = 0 }

    /// Appends `tokens` and returns the logits of every one of them, `tokens.count × vocab`
    /// row-major (meant for short inputs and tests: this materialises all rows).
    public func logits(appending tokens: [Int32]) throws(InferenceError) -> [Float] {
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = self.config
        var timer = PhaseTimer()
        var result = [Float](repeating: 0, count: tokens.count * config.vocabSize)
        result.withUnsafeMutableBufferPointer { out in
            LinearAlgebra.linear(
                workspace.scratch.normed.buffer.baseAddress!, rows: tokens.count, inputs: config.hiddenSize,
                xStride: config.hiddenSize, weight: weights.output, outputs: config.vocabSize,
                into: out.baseAddress!, yStride: config.vocabSize)
        }
        timer.charge(\.head)
        phaseTimes += timer.times
        return result
    }

    /// Appends `tokens` and returns the logits of the last one (`vocab` floats).
    public func lastLogits(appending tokens: [Int32]) throws(InferenceError) -> [Float] {
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = self.config
        var timer = PhaseTimer()
        var result = [Float](repeating: 0, count: config.vocabSize)
        result.withUnsafeMutableBufferPointer { out in
            LinearAlgebra.linear(
                workspace.scratch.normed.buffer.baseAddress! + (tokens.count - 1) * config.hiddenSize,
                rows: 1, inputs: config.hiddenSize, xStride: config.hiddenSize,
                weight: weights.output, outputs: config.vocabSize,
                into: out.baseAddress!, yStride: config.vocabSize)
        }
        timer.charge(\.head)
        phaseTimes += timer.times
        return result
    }

    /// Runs `tokens` as a new sequence (resetting the cache) and returns the `tokens.count - 1`
    /// negative log-likelihoods of predicting token `t + 1` from tokens `0...t`, computed block by
    /// block without materialising all logits.
    ///
    /// - Throws: `InferenceError` for fewer than two tokens, too many, or an id out of range.
    public func negativeLogLikelihoods(_ tokens: [Int32]) throws(InferenceError) -> [Float] {
        guard tokens.count >= 2 else {
            throw InferenceError("need at least 2 tokens to score next-token predictions, got \(tokens.count)")
        }
        let vocab = config.vocabSize
        let predictions = tokens.count - 1
        var nll = [Float](repeating: 0, count: predictions)
        let workers = attention.workers
        try tokens.withUnsafeBufferPointer { ids throws(InferenceError) in
            try nll.withUnsafeMutableBufferPointer { out throws(InferenceError) in
                let shared = (nll: UnsafeSendable(out.baseAddress!), ids: UnsafeSendable(ids.baseAddress!))
                try logitBlocks(tokens, rows: 0..<predictions) { first, rows, logits in
                    let block = UnsafeSendable(logits)
                    let share = (rows + workers - 1) / workers
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let begin = worker * share, end = min(rows, begin + share)
                        guard begin < end else { return }
                        shears_cross_entropy(
                            block.value + begin * vocab, end - begin, vocab, vocab,
                            shared.ids.value + first + begin + 1, shared.nll.value + first + begin)
                    }
                }
            }
        }
        return nll
    }

    /// Runs `tokens` as a new sequence (resetting the cache) and hands the logits of the rows in
    /// `rows` to `body` block by block (at most `headBlock` rows each, in order), without
    /// materialising them all: `body(firstRow, rowCount, logits)` gets `rowCount × vocab` floats,
    /// valid only during the call (the block buffer is reused).
    ///
    /// - Throws: `InferenceError` for rows outside the tokens, too many tokens, an id out of
    ///   range, or what `body` throws.
    package func logitBlocks(
        _ tokens: [Int32], rows: Range<Int>,
        _ body: (_ firstRow: Int, _ rowCount: Int, _ logits: UnsafeMutablePointer<Float>) throws(InferenceError) -> Void
    ) throws(InferenceError) {
        guard rows.lowerBound >= 0, rows.upperBound <= tokens.count else {
            throw InferenceError("logit rows \(rows) are outside the \(tokens.count) tokens")
        }
        reset()
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = self.config
        let block = min(Self.headBlock, capacity)
        let logits = workspace.logits.buffer.baseAddress!
        let normed = workspace.scratch.normed.buffer.baseAddress!
        var start = rows.lowerBound
        while start < rows.upperBound {
            var timer = PhaseTimer()
            let count = min(block, rows.upperBound - start)
            LinearAlgebra.linear(
                normed + start * config.hiddenSize, rows: count, inputs: config.hiddenSize,
                xStride: config.hiddenSize, weight: weights.output, outputs: config.vocabSize, into: logits,
                yStride: config.vocabSize)
            try body(start, count, logits)
            timer.charge(\.head)
            phaseTimes += timer.times
            start += count
        }
    }

    /// Runs the decoder over `tokens` at positions `position...`, leaving the final-normed hidden
    /// states of these rows at the start of `workspace.scratch.normed`.
    private func run(_ tokens: [Int32], _ weights: ModelWeights) throws(InferenceError) {
        let config = weights.config
        guard config == self.config else {
            throw InferenceError(
                "the model's shape changed (surgery) after this forward pass was created; create a new one")
        }
        let rows = tokens.count
        guard rows >= 1 else { throw InferenceError("no tokens to run") }
        guard keepsCache || position == 0 else {
            throw InferenceError(
                "this forward pass keeps no key/value cache (keepsCache: false): it runs whole sequences only")
        }
        guard position + rows <= capacity else {
            throw InferenceError("\(rows) more tokens after \(position) exceed the forward pass capacity \(capacity)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw InferenceError("token id \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        let hidden = config.hiddenSize
        let residual = workspace.residual.buffer.baseAddress!
        var timer = PhaseTimer()
        weights.embed(tokens, into: residual)
        timer.charge(\.embedding)
        precondition(mixes.isEmpty || position == 0, "mixes apply to whole sequences from position 0")
        for layer in 0..<config.layerCount where !skippedLayers.contains(layer) {
            DecoderLayer(weights, layer: layer).forward(
                residual, rows: rows, cache: workspace.sequenceCache(layer: layer, firstPosition: position),
                scratch: workspace.scratch, rotary: rotary, attention: attention,
                mix: mixes.isEmpty ? nil : mixes[layer], timer: &timer)
        }
        shears_rmsnorm(
            residual, weights.outputNorm, workspace.scratch.normed.buffer.baseAddress!, rows, hidden,
            config.rmsNormEpsilon)
        timer.charge(\.normsAndRope)
        phaseTimes += timer.times
        position += rows
    }
}
