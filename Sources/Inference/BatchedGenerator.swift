import Dispatch
import Kernels
import ModelIO

/// Where one text of a batched sequence starts: the token fed at position 0 and the sampling
/// options (with their own seed) for the tokens that follow it.
public struct SegmentStart: Sendable, Equatable {
    /// The token fed first (not part of the output), e.g. BOS.
    public var token: Int32
    /// How the tokens of this text are sampled.
    public var sampling: SamplingOptions

    /// Creates a segment start.
    public init(token: Int32, sampling: SamplingOptions) {
        self.token = token
        self.sampling = sampling
    }
}

/// Generation of many independent sequences in lockstep: every step feeds one token per sequence,
/// so each linear layer is one `[B, in] × Wᵀ` product that reads the weights once for all B rows.
///
/// Each sequence has its own key/value cache, positions and sampler. A sequence produces exactly
/// `length` tokens; when it emits the end-of-sequence token earlier, that token is kept and the
/// sequence goes on with a new text (`segmentStart` is asked for its start token and options, and
/// its cache starts again at position 0). This is the computation of running `Generator` once per
/// text with `maxTokens` = the tokens still missing; the logits agree to float rounding (a batched
/// product may take other OpenBLAS kernels than a single row), which on rare steps flips a
/// sampled token and so the rest of that sequence.
///
/// Not thread-safe: use one instance per thread.
public final class BatchedGenerator {
    /// The model generating.
    public let model: Model
    /// The most sequences advanced together.
    public let batchSize: Int
    /// The most tokens one sequence produces (its cache holds one more: the start token).
    public let length: Int
    /// Called after every step with each sequence's logits (`vocab` floats, valid only during
    /// the call) before its token is sampled (nil: no calls, no cost).
    public var logitsObserver: ((_ sequence: Int, _ logits: UnsafeBufferPointer<Float>) -> Void)?

    /// Checked before every step: generation stops with an `InferenceError` carrying the reason.
    public var cancellation: Cancellation?
    /// The model's shape when this generator was created (its buffers fit it).
    private let config: LlamaConfig
    private let workspace: ForwardWorkspace
    private let rotary: RotaryTable
    private let attention: CausalAttention

    /// Prepares buffers for up to `batchSize` sequences of `length` generated tokens each.
    ///
    /// - Throws: `InferenceError` if a count is not positive or `length + 1` exceeds the context.
    public init(model: Model, batchSize: Int, length: Int) throws(InferenceError) {
        guard batchSize >= 1 else { throw InferenceError("batch size \(batchSize) must be at least 1") }
        guard length >= 1 else { throw InferenceError("generated length \(length) must be at least 1") }
        let config = model.config
        guard length + 1 <= config.contextLength else {
            throw InferenceError(
                "a start token plus \(length) new ones exceeds the context length \(config.contextLength)")
        }
        self.model = model
        self.config = config
        self.batchSize = batchSize
        self.length = length
        workspace = ForwardWorkspace(
            config: config, rows: batchSize, logitRows: batchSize,
            cacheRows: batchSize * (length + 1), stagingRows: batchSize)
        rotary = RotaryTable(
            positions: length + 1, headDim: config.headDim, base: config.ropeTheta, scaling: config.ropeScaling)
        attention = CausalAttention(config: config, capacity: length + 1, block: 1, workers: 1)
    }

    /// Bytes of key/value cache one sequence of `length` generated tokens needs for `config`.
    public static func cacheBytes(config: LlamaConfig, length: Int) -> Int {
        (0..<config.layerCount).reduce(0) { $0 + 2 * (length + 1) * config.kvWidth($1) } * MemoryLayout<Float>.stride
    }

    /// Generates `length` tokens for each of `sequences` sequences (at most `batchSize`);
    /// `segmentStart(sequence, segment)` gives the start of the `segment`-th text (from 0) of a
    /// sequence. `progress` is called after every step with the tokens produced per sequence.
    ///
    /// - Throws: `InferenceError` for a bad sequence count, bad sampling options or a start token
    ///   outside the vocabulary.
    public func generate(
        sequences: Int, segmentStart: (_ sequence: Int, _ segment: Int) -> SegmentStart,
        progress: ((_ produced: Int) -> Void)? = nil
    ) throws(InferenceError) -> [[Int32]] {
        guard (1...batchSize).contains(sequences) else {
            throw InferenceError("\(sequences) sequences do not fit the batch size \(batchSize)")
        }
        let vocab = model.config.vocabSize
        let endOfSequence = model.tokenizer.vocabulary.eosID
        func start(_ sequence: Int, _ segment: Int) throws(InferenceError) -> (Int32, Sampler) {
            let begin = segmentStart(sequence, segment)
            try begin.sampling.validate()
            guard begin.token >= 0 && Int(begin.token) < vocab else {
                throw InferenceError("start token \(begin.token) is outside the vocabulary (0..<\(vocab))")
            }
            return (begin.token, Sampler(options: begin.sampling))
        }
        var inputs = [Int32](repeating: 0, count: sequences)
        var positions = [Int](repeating: 0, count: sequences)
        var segments = [Int](repeating: 0, count: sequences)
        var samplers: [Sampler] = []
        for sequence in 0..<sequences {
            let (token, sampler) = try start(sequence, 0)
            inputs[sequence] = token
            samplers.append(sampler)
        }
        var outputs = [[Int32]](repeating: [], count: sequences)
        for sequence in 0..<sequences { outputs[sequence].reserveCapacity(length) }
        var chosen = [Int32](repeating: 0, count: sequences)
        for produced in 1...length {
            try cancellation?.check()
            try step(inputs, positions)
            if let logitsObserver {
                for sequence in 0..<sequences {
                    logitsObserver(
                        sequence,
                        UnsafeBufferPointer(
                            start: workspace.logits.buffer.baseAddress! + sequence * vocab,
                            count: vocab))
                }
            }
            sample(rows: sequences, samplers: &samplers, into: &chosen)
            for sequence in 0..<sequences {
                let token = chosen[sequence]
                outputs[sequence].append(token)
                if token == endOfSequence {
                    segments[sequence] += 1
                    let (next, sampler) = try start(sequence, segments[sequence])
                    inputs[sequence] = next
                    samplers[sequence] = sampler
                    positions[sequence] = 0
                } else {
                    inputs[sequence] = token
                    positions[sequence] += 1
                }
            }
            progress?(produced)
        }
        return outputs
    }

    /// Samples one token per row of the logits, the rows shared out over threads.
    private func sample(rows: Int, samplers: inout [Sampler], into chosen: inout [Int32]) {
        let vocab = model.config.vocabSize
        let logits = UnsafeSendable(workspace.logits.buffer.baseAddress!)
        samplers.withUnsafeMutableBufferPointer { samplers in
            chosen.withUnsafeMutableBufferPointer { chosen in
                let shared = (
                    samplers: UnsafeSendable(samplers.baseAddress!), chosen: UnsafeSendable(chosen.baseAddress!)
                )
                DispatchQueue.concurrentPerform(iterations: rows) { row in
                    let values = Array(UnsafeBufferPointer(start: logits.value + row * vocab, count: vocab))
                    shared.chosen.value[row] = Int32(shared.samplers.value[row].next(values))
                }
            }
        }
    }

    /// Runs one token per sequence (`tokens[b]` at position `positions[b]` of sequence `b`),
    /// leaving the logits of every row in `workspace.logits`.
    private func step(_ tokens: [Int32], _ positions: [Int]) throws(InferenceError) {
        let weights = ModelWeights(model)
        let config = weights.config
        guard config == self.config else {
            throw InferenceError(
                "the model's shape changed (surgery) after this generator was created; create a new one")
        }
        let rows = tokens.count
        let hidden = config.hiddenSize
        let residual = workspace.residual.buffer.baseAddress!, normed = workspace.scratch.normed.buffer.baseAddress!
        weights.embed(tokens, into: residual)
        var timer = PhaseTimer()
        for layer in 0..<config.layerCount {
            let cache = KVCacheView.perRow(
                keys: workspace.keys[layer].buffer.baseAddress!,
                values: workspace.values[layer].buffer.baseAddress!,
                rowsPerSequence: length + 1, positions: positions)
            DecoderLayer(weights, layer: layer).forward(
                residual, rows: rows, cache: cache, scratch: workspace.scratch,
                rotary: rotary, attention: attention, timer: &timer)
        }
        shears_rmsnorm(residual, weights.outputNorm, normed, rows, hidden, config.rmsNormEpsilon)
        LinearAlgebra.linear(
            normed, rows: rows, inputs: hidden, xStride: hidden, weight: weights.output,
            outputs: config.vocabSize, into: workspace.logits.buffer.baseAddress!,
            yStride: config.vocabSize)
        withExtendedLifetime(weights) {}
    }
}
