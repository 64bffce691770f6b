import Kernels
import ModelIO

/// The four distinct inputs of a decoder layer's seven linear matrices.
public enum LinearInputSite: Int, CaseIterable, Sendable {
    /// The attention-normed hidden state, read by q, k and v.
    case attentionInput
    /// The attention context (concatenated heads), read by the attention output.
    case attentionContext
    /// The FFN-normed hidden state, read by gate and up.
    case ffnInput
    /// The SwiGLU product `silu(gate) · up`, read by down.
    case ffnHidden
}

/// Sees the rows of each linear input as soon as the layer computes them (`rows × width`,
/// valid only during the call).
public typealias LinearInputObserver = (LinearInputSite, UnsafeBufferPointer<Float>) -> Void

/// Where a layer call's keys and values go and which cached ones its queries attend to.
package enum KVCacheView {
    /// One sequence: the call's rows are positions `firstPosition ..< firstPosition + rows`;
    /// their keys and values are written into rows `firstPosition...` of `keys`/`values`
    /// (`kvWidth` floats per row) and each query attends to cache rows `0...its position`.
    case sequence(keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, firstPosition: Int)
    /// One token per row, each of its own sequence: row `r` is at `positions[r]` and its cache
    /// starts at cache row `r · rowsPerSequence`.
    case perRow(
        keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, rowsPerSequence: Int,
        positions: [Int])
}

/// Accumulates wall-clock seconds into the forward phases.
package struct PhaseTimer {
    /// The seconds so far.
    package var times = ForwardPhaseTimes()
    private var clock = Stopwatch()

    /// Starts timing.
    package init() {}

    /// Charges the seconds since the previous charge (or creation) to `phase`.
    package mutating func charge(_ phase: WritableKeyPath<ForwardPhaseTimes, Double>) {
        times[keyPath: phase] += clock.lap()
    }

    /// Restarts the interval without charging it (time spent outside the forward).
    package mutating func skip() { _ = clock.lap() }
}

/// The one routine for a LLaMA decoder layer, which every driver runs: the whole-model forward
/// (`ForwardPass`), the batched generator, and the pruning engine's layer-by-layer forward
/// (`DecoderLayerForward`).
///
/// Works in place on the residual stream: `h += attention(norm(h)); h += ffn(norm(h))`, either
/// sub-block absent when the layer's shape has none. q/k/v biases (Qwen2) are added to the
/// projections and q/k head norms (Qwen3) applied per head, both before RoPE. Products are OpenBLAS calls; norms, RoPE,
/// softmax and SwiGLU are the SIMD kernels.
struct DecoderLayer {
    /// The layer's index in the model.
    let index: Int
    /// Its weights and shape.
    let weights: LayerWeights
    /// The model's configuration (hidden size, head dimension, epsilon).
    package let config: LlamaConfig

    /// The layer `index` of `weights`.
    init(_ weights: ModelWeights, layer index: Int) {
        self.index = index
        self.weights = weights.layer(index)
        config = weights.config
    }

    /// Runs the layer over `rows` rows of `residual` (`rows × hidden`, updated in place).
    ///
    /// `observe` sees each linear input once computed; `record`, when given, keeps the
    /// activations a backward pass needs (`.sequence` caches only). `recordOnly` stops once the
    /// record is complete: the FFN's down projection, whose output a backward does not read, is
    /// skipped, leaving `residual` between the sub-blocks. `mix` replaces the real head contexts
    /// and FFN channels by their mix with knockoffs after they are recorded (SCOP).
    func forward(
        _ residual: UnsafeMutablePointer<Float>, rows: Int, cache: KVCacheView, scratch: LayerScratch,
        rotary: RotaryTable, attention: CausalAttention, observe: LinearInputObserver? = nil,
        record: LayerActivationRecord? = nil, recordOnly: Bool = false, mix: UnitMix? = nil, timer: inout PhaseTimer
    ) {
        let shape = weights.shape
        let hidden = config.hiddenSize, headDim = config.headDim
        let normed = scratch.normed.buffer.baseAddress!
        func show(_ site: LinearInputSite, _ pointer: UnsafeMutablePointer<Float>, _ width: Int) {
            guard let observe else { return }
            timer.skip()
            observe(site, UnsafeBufferPointer(start: pointer, count: rows * width))
            timer.skip()
        }
        record?.capture(.input, residual, rows * hidden)

        if let w = weights.attention {
            let queryWidth = shape.headCount * headDim, kvWidth = shape.kvHeadCount * headDim
            let queries = scratch.queries.buffer.baseAddress!, attended = scratch.attended.buffer.baseAddress!
            let cosines = rotary.cosines.buffer.baseAddress!, sines = rotary.sines.buffer.baseAddress!
            shears_rmsnorm(residual, w.norm, normed, rows, hidden, config.rmsNormEpsilon)
            timer.charge(\.normsAndRope)
            record?.capture(.attentionNormed, normed, rows * hidden)
            show(.attentionInput, normed, hidden)
            LinearAlgebra.linear(
                normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.query,
                outputs: queryWidth, into: queries, yStride: queryWidth)
            // New keys and values go straight into a sequence cache, or into staging rows first.
            let (newKeys, newValues): (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
            switch cache {
            case .sequence(let keys, let values, let first):
                (newKeys, newValues) = (keys + first * kvWidth, values + first * kvWidth)
            case .perRow:
                (newKeys, newValues) = (scratch.newKeys.buffer.baseAddress!, scratch.newValues.buffer.baseAddress!)
            }
            LinearAlgebra.linear(
                normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.key,
                outputs: kvWidth, into: newKeys, yStride: kvWidth)
            LinearAlgebra.linear(
                normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.value,
                outputs: kvWidth, into: newValues, yStride: kvWidth)
            if let bias = w.queryBias { addRowBias(bias, to: queries, rows: rows, width: queryWidth) }
            if let bias = w.keyBias { addRowBias(bias, to: newKeys, rows: rows, width: kvWidth) }
            if let bias = w.valueBias { addRowBias(bias, to: newValues, rows: rows, width: kvWidth) }
            timer.charge(\.projections)
            if let norm = w.queryNorm {
                record?.capture(.projectedQueries, queries, rows * queryWidth)
                shears_rmsnorm(queries, norm, queries, rows * shape.headCount, headDim, config.rmsNormEpsilon)
            }
            if let norm = w.keyNorm {
                record?.capture(.projectedKeys, newKeys, rows * kvWidth)
                shears_rmsnorm(newKeys, norm, newKeys, rows * shape.kvHeadCount, headDim, config.rmsNormEpsilon)
            }
            switch cache {
            case .sequence(let keys, let values, let first):
                shears_rope(queries, rows, queryWidth, shape.headCount, headDim, cosines, sines, first)
                shears_rope(newKeys, rows, kvWidth, shape.kvHeadCount, headDim, cosines, sines, first)
                timer.charge(\.normsAndRope)
                record?.capture(.queries, queries, rows * queryWidth)
                record?.capture(.keys, newKeys, rows * kvWidth)
                record?.capture(.values, newValues, rows * kvWidth)
                attention.run(
                    heads: shape.headCount, kvHeads: shape.kvHeadCount, queries: queries, rows: rows,
                    firstPosition: first, keys: keys, values: values, output: attended)
            case .perRow(let keys, let values, let rowsPerSequence, let positions):
                precondition(record == nil, "activation records need a sequence cache")
                for row in 0..<rows {
                    let position = positions[row]
                    let cacheKeys = keys + row * rowsPerSequence * kvWidth
                    let cacheValues = values + row * rowsPerSequence * kvWidth
                    shears_rope(
                        queries + row * queryWidth, 1, queryWidth, shape.headCount, headDim, cosines, sines,
                        position)
                    shears_rope(
                        newKeys + row * kvWidth, 1, kvWidth, shape.kvHeadCount, headDim, cosines, sines,
                        position)
                    (cacheKeys + position * kvWidth).update(from: newKeys + row * kvWidth, count: kvWidth)
                    (cacheValues + position * kvWidth).update(from: newValues + row * kvWidth, count: kvWidth)
                    attention.run(
                        heads: shape.headCount, kvHeads: shape.kvHeadCount,
                        queries: queries + row * queryWidth, rows: 1, firstPosition: position,
                        keys: cacheKeys, values: cacheValues, output: attended + row * queryWidth)
                }
            }
            timer.charge(\.attention)
            record?.capture(.attended, attended, rows * queryWidth)
            mix?.apply(.attentionContext, attended, rows: rows, width: queryWidth, headDim: headDim)
            show(.attentionContext, attended, queryWidth)
            LinearAlgebra.linear(
                attended, rows: rows, inputs: queryWidth, xStride: queryWidth,
                weight: w.output, outputs: hidden, into: residual, yStride: hidden,
                accumulate: true)
            if let bias = w.outputBias { addRowBias(bias, to: residual, rows: rows, width: hidden) }
            timer.charge(\.projections)
        }
        record?.capture(.midResidual, residual, rows * hidden)

        if let w = weights.ffn {
            let ffn = shape.ffnSize
            let gate = scratch.gate.buffer.baseAddress!, up = scratch.up.buffer.baseAddress!
            shears_rmsnorm(residual, w.norm, normed, rows, hidden, config.rmsNormEpsilon)
            timer.charge(\.normsAndRope)
            record?.capture(.ffnNormed, normed, rows * hidden)
            show(.ffnInput, normed, hidden)
            LinearAlgebra.linear(
                normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.gate,
                outputs: ffn, into: gate, yStride: ffn)
            LinearAlgebra.linear(
                normed, rows: rows, inputs: hidden, xStride: hidden, weight: w.up,
                outputs: ffn, into: up, yStride: ffn)
            record?.capture(.gate, gate, rows * ffn)
            record?.capture(.up, up, rows * ffn)
            shears_silu_mul(gate, up, rows * ffn)
            record?.capture(.ffnHidden, gate, rows * ffn)
            if recordOnly { return }
            mix?.apply(.ffnHidden, gate, rows: rows, width: ffn, headDim: headDim)
            show(.ffnHidden, gate, ffn)
            LinearAlgebra.linear(
                gate, rows: rows, inputs: ffn, xStride: ffn, weight: w.down,
                outputs: hidden, into: residual, yStride: hidden, accumulate: true)
            if let bias = w.downBias { addRowBias(bias, to: residual, rows: rows, width: hidden) }
            timer.charge(\.mlp)
        }
    }

    /// `y[r, :] += bias` for every one of `rows` rows of `width` values.
    private func addRowBias(
        _ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        for row in 0..<rows { shears_add(y + row * width, bias, width) }
    }
}

/// The activations of one decoder-layer call that its backward pass needs, copied as the
/// forward computes them. Norm scales and attention probabilities are not kept: they are
/// recomputed from the norm inputs and from the queries and keys.
package final class LayerActivationRecord {
    /// One recorded activation.
    package enum Site: Int, CaseIterable, Sendable {
        /// The layer's input (the residual stream before the layer), `rows × hidden`.
        case input
        /// The attention-normed input, `rows × hidden`.
        case attentionNormed
        /// Queries after RoPE, `rows × queryWidth`.
        case queries
        /// Queries before their head norm (projection plus bias), `rows × queryWidth`; only with q/k norms.
        case projectedQueries
        /// The call's keys before their head norm, `rows × kvWidth`; only with q/k norms.
        case projectedKeys
        /// The call's keys after RoPE, `rows × kvWidth`.
        case keys
        /// The call's values, `rows × kvWidth`.
        case values
        /// The attention context before the output projection, `rows × queryWidth`.
        case attended
        /// The residual stream between the attention and FFN sub-blocks, `rows × hidden`.
        case midResidual
        /// The FFN-normed residual, `rows × hidden`.
        case ffnNormed
        /// The gate projection before SiLU, `rows × ffn`.
        case gate
        /// The up projection, `rows × ffn`.
        case up
        /// `silu(gate) · up`, the input of the down projection, `rows × ffn`.
        case ffnHidden
    }

    /// The recorded values per site (absent: the layer has no such sub-block), each holding
    /// exactly the call's elements. A later call reuses a site's storage when the size matches.
    package private(set) var storages: [Site: TensorStorage] = [:]

    /// The recorded values per site, copied into arrays.
    package var values: [Site: [Float]] { storages.mapValues { Array($0.buffer) } }

    /// Creates an empty record.
    package init() {}

    /// Forgets every site (a layer without a sub-block leaves its sites absent).
    package func clear() { storages = [:] }

    fileprivate func capture(_ site: Site, _ pointer: UnsafePointer<Float>, _ count: Int) {
        let storage = storages[site].flatMap { $0.count == count ? $0 : nil } ?? TensorStorage(zeros: count)
        storage.buffer.baseAddress!.update(from: pointer, count: count)
        storages[site] = storage
    }
}

/// Scratch buffers of one decoder-layer call, sized for the widest layer of a model.
package struct LayerScratch {
    /// Normalised residual, `rows × hidden`.
    let normed: TensorStorage
    /// Queries, `rows × maxQueryWidth`.
    let queries: TensorStorage
    /// Keys and values of a per-row call before they go into the caches, `stagingRows × maxKVWidth`.
    let newKeys, newValues: TensorStorage
    /// Attention output before the output projection, `rows × maxQueryWidth`.
    let attended: TensorStorage
    /// Gate activations (then SiLU(gate)·up), `rows × maxFFN`.
    let gate: TensorStorage
    /// Up activations, `rows × maxFFN`.
    let up: TensorStorage

    /// Allocates scratch for `rows` rows of `config`'s widest layer, with `stagingRows` rows of
    /// key/value staging for per-row calls.
    package init(config: LlamaConfig, rows: Int, stagingRows: Int = 0) {
        normed = TensorStorage(zeros: rows * config.hiddenSize)
        queries = TensorStorage(zeros: rows * config.maxQueryWidth)
        newKeys = TensorStorage(zeros: stagingRows * config.maxKVWidth)
        newValues = TensorStorage(zeros: stagingRows * config.maxKVWidth)
        attended = TensorStorage(zeros: rows * config.maxQueryWidth)
        gate = TensorStorage(zeros: rows * config.maxFFNSize)
        up = TensorStorage(zeros: rows * config.maxFFNSize)
    }
}
