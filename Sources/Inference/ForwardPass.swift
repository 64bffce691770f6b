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
    /// Number of positions already in the cache.
    public private(set) var position = 0
    /// Time spent per phase since creation (or since the caller last reset it).
    public var phaseTimes = ForwardPhaseTimes()
    /// Threads that share the attention work (each running single-threaded BLAS); 1 lets
    /// OpenBLAS thread each product instead.
    public var attentionWorkers: Int { attention.workers }

    /// Called with the input rows of every linear layer as the forward pass reaches it (nil: no
    /// calls, no cost).
    public var linearInputObserver: ((LinearInput) -> Void)?

    /// Query positions per attention score block, by default.
    public static let defaultAttentionBlock = 64
    /// Rows per block of logits in the loss.
    public static let headBlock = 256

    private let workspace: ForwardWorkspace
    private let rotary: RotaryTable
    private let attention: CausalAttention

    /// Prepares buffers for sequences of up to `capacity` positions; `attentionWorkers` defaults
    /// to OpenBLAS's thread count; `attentionBlock` is the number of query positions per score
    /// block (a tuning knob: the block's scores should stay in cache).
    ///
    /// - Throws: `InferenceError` if `capacity` or `attentionBlock` is not positive.
    public init(
        model: Model, capacity: Int, attentionWorkers: Int? = nil, attentionBlock: Int = defaultAttentionBlock
    ) throws(InferenceError) {
        guard capacity >= 1 else { throw InferenceError("forward pass capacity \(capacity) must be at least 1") }
        guard attentionBlock >= 1 else { throw InferenceError("attention block \(attentionBlock) must be at least 1") }
        let config = model.config
        self.model = model
        self.capacity = capacity
        workspace = ForwardWorkspace(config: config, rows: capacity, logitRows: min(Self.headBlock, capacity), cacheRows: capacity)
        rotary = RotaryTable(positions: capacity, headDim: config.headDim, base: config.ropeTheta)
        attention = CausalAttention(config: config, capacity: capacity, block: attentionBlock,
                                    workers: attentionWorkers ?? blasThreadCount())
    }

    /// Forgets the cached positions; the next call starts a new sequence at position 0.
    public func reset() { position = 0 }

    /// Appends `tokens` and returns the logits of every one of them, `tokens.count × vocab`
    /// row-major (meant for short inputs and tests: this materialises all rows).
    public func logits(appending tokens: [Int32]) throws(InferenceError) -> [Float] {
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = model.config
        var clock = PhaseClock()
        var result = [Float](repeating: 0, count: tokens.count * config.vocabSize)
        result.withUnsafeMutableBufferPointer { out in
            LinearAlgebra.linear(workspace.normed.buffer.baseAddress!, rows: tokens.count, inputs: config.hiddenSize,
                                 xStride: config.hiddenSize, weight: weights.output, outputs: config.vocabSize,
                                 into: out.baseAddress!, yStride: config.vocabSize)
        }
        phaseTimes.head += clock.lap()
        return result
    }

    /// Appends `tokens` and returns the logits of the last one (`vocab` floats).
    public func lastLogits(appending tokens: [Int32]) throws(InferenceError) -> [Float] {
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = model.config
        var clock = PhaseClock()
        var result = [Float](repeating: 0, count: config.vocabSize)
        result.withUnsafeMutableBufferPointer { out in
            LinearAlgebra.linear(workspace.normed.buffer.baseAddress! + (tokens.count - 1) * config.hiddenSize,
                                 rows: 1, inputs: config.hiddenSize, xStride: config.hiddenSize,
                                 weight: weights.output, outputs: config.vocabSize,
                                 into: out.baseAddress!, yStride: config.vocabSize)
        }
        phaseTimes.head += clock.lap()
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
        reset()
        let weights = ModelWeights(model)
        try run(tokens, weights)
        let config = model.config
        var clock = PhaseClock()
        let predictions = tokens.count - 1
        var nll = [Float](repeating: 0, count: predictions)
        let block = min(Self.headBlock, capacity)
        let logits = workspace.logits.buffer.baseAddress!
        let normed = workspace.normed.buffer.baseAddress!
        let workers = attention.workers
        tokens.withUnsafeBufferPointer { ids in
            nll.withUnsafeMutableBufferPointer { out in
                let shared = (logits: UnsafeSendable(logits), nll: UnsafeSendable(out.baseAddress!),
                              ids: UnsafeSendable(ids.baseAddress!))
                var start = 0
                while start < predictions {
                    let rows = min(block, predictions - start)
                    LinearAlgebra.linear(normed + start * config.hiddenSize, rows: rows, inputs: config.hiddenSize,
                                         xStride: config.hiddenSize, weight: weights.output,
                                         outputs: config.vocabSize, into: logits, yStride: config.vocabSize)
                    let first = start
                    let share = (rows + workers - 1) / workers
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let begin = worker * share, end = min(rows, begin + share)
                        guard begin < end else { return }
                        shears_cross_entropy(shared.logits.value + begin * config.vocabSize, end - begin,
                                             config.vocabSize, config.vocabSize, shared.ids.value + first + begin + 1,
                                             shared.nll.value + first + begin)
                    }
                    start += rows
                }
            }
        }
        phaseTimes.head += clock.lap()
        return nll
    }

    /// Runs the decoder over `tokens` at positions `position...`, leaving the final-normed hidden
    /// states of these rows at the start of `workspace.normed`.
    private func run(_ tokens: [Int32], _ weights: ModelWeights) throws(InferenceError) {
        let config = model.config
        let rows = tokens.count
        guard rows >= 1 else { throw InferenceError("no tokens to run") }
        guard position + rows <= capacity else {
            throw InferenceError("\(rows) more tokens after \(position) exceed the forward pass capacity \(capacity)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw InferenceError("token id \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        let hidden = config.hiddenSize
        let queryWidth = config.queryWidth
        let kvWidth = config.kvWidth
        let ffn = config.ffnSize
        let first = position
        let residual = workspace.residual.buffer.baseAddress!
        let normed = workspace.normed.buffer.baseAddress!
        let queries = workspace.queries.buffer.baseAddress!
        let attended = workspace.attended.buffer.baseAddress!
        let gate = workspace.gate.buffer.baseAddress!
        let up = workspace.up.buffer.baseAddress!
        let cosines = rotary.cosines.buffer.baseAddress!
        let sines = rotary.sines.buffer.baseAddress!
        var clock = PhaseClock()

        for (row, id) in tokens.enumerated() {
            (residual + row * hidden).update(from: weights.tokenEmbedding + Int(id) * hidden, count: hidden)
        }
        phaseTimes.embedding += clock.lap()

        for (layer, w) in weights.layers.enumerated() {
            let keys = workspace.keys[layer].buffer.baseAddress!
            let values = workspace.values[layer].buffer.baseAddress!
            let newKeys = keys + first * kvWidth
            shears_rmsnorm(residual, w.attentionNorm, normed, rows, hidden, config.rmsNormEpsilon)
            phaseTimes.normsAndRope += clock.lap()
            observe(layer, [.query, .key, .value], normed, rows, hidden, &clock)

            LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.query,
                                 outputs: queryWidth, into: queries, yStride: queryWidth)
            LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.key,
                                 outputs: kvWidth, into: newKeys, yStride: kvWidth)
            LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.value,
                                 outputs: kvWidth, into: values + first * kvWidth, yStride: kvWidth)
            phaseTimes.projections += clock.lap()

            shears_rope(queries, rows, queryWidth, config.headCount, config.headDim, cosines, sines, first)
            shears_rope(newKeys, rows, kvWidth, config.kvHeadCount, config.headDim, cosines, sines, first)
            phaseTimes.normsAndRope += clock.lap()

            attention.run(queries: queries, rows: rows, firstPosition: first, keys: keys, values: values,
                          output: attended)
            phaseTimes.attention += clock.lap()
            observe(layer, [.attentionOutput], attended, rows, queryWidth, &clock)

            LinearAlgebra.linear(attended, rows: rows, inputs: queryWidth, xStride: queryWidth,
                                 weight: w.attentionOutput, outputs: hidden, into: residual, yStride: hidden,
                                 accumulate: true)
            phaseTimes.projections += clock.lap()

            shears_rmsnorm(residual, w.ffnNorm, normed, rows, hidden, config.rmsNormEpsilon)
            phaseTimes.normsAndRope += clock.lap()
            observe(layer, [.gate, .up], normed, rows, hidden, &clock)

            LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.gate,
                                 outputs: ffn, into: gate, yStride: ffn)
            LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.up,
                                 outputs: ffn, into: up, yStride: ffn)
            shears_silu_mul(gate, up, rows * ffn)
            observe(layer, [.down], gate, rows, ffn, &clock)
            LinearAlgebra.linear(gate, rows: rows, inputs: ffn, xStride: ffn, weight: w.down,
                                 outputs: hidden, into: residual, yStride: hidden, accumulate: true)
            phaseTimes.mlp += clock.lap()
        }
        shears_rmsnorm(residual, weights.outputNorm, normed, rows, hidden, config.rmsNormEpsilon)
        phaseTimes.normsAndRope += clock.lap()
        position += rows
    }

    /// Hands the rows at `values` to the observer once per linear part consuming them; the clock
    /// is restarted so observer time is not charged to any phase.
    private func observe(
        _ layer: Int, _ parts: [LlamaTensorNames.Layer], _ values: UnsafeMutablePointer<Float>, _ rows: Int,
        _ columns: Int, _ clock: inout PhaseClock
    ) {
        guard let linearInputObserver else { return }
        defer { _ = clock.lap() }
        let buffer = UnsafeBufferPointer(start: values, count: rows * columns)
        for part in parts {
            linearInputObserver(LinearInput(layer: layer, part: part, rows: rows, columns: columns, values: buffer))
        }
    }
}
