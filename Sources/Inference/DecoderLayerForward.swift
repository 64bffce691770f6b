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

/// One decoder layer run on its own over independent sequences (each from position 0), for
/// layer-wise pruning: reads the layer's current weights from the model on every call, so a
/// replaced (pruned) tensor takes effect at the next call.
///
/// Not thread-safe: use one instance per thread.
public final class DecoderLayerForward {
    /// The model whose layers are run.
    public let model: Model
    /// The most rows (positions) one sequence may have.
    public let capacity: Int

    private let rotary: RotaryTable
    private let attention: CausalAttention
    private let normed, queries, keys, values, attended, gate, up: TensorStorage

    /// Prepares buffers for sequences of up to `capacity` positions.
    ///
    /// - Throws: `InferenceError` if `capacity` is not positive.
    public init(model: Model, capacity: Int) throws(InferenceError) {
        guard capacity >= 1 else { throw InferenceError("layer forward capacity \(capacity) must be at least 1") }
        let config = model.config
        self.model = model
        self.capacity = capacity
        rotary = RotaryTable(positions: capacity, headDim: config.headDim, base: config.ropeTheta)
        attention = CausalAttention(config: config, capacity: capacity, block: ForwardPass.defaultAttentionBlock,
                                    workers: blasThreadCount())
        normed = TensorStorage(zeros: capacity * config.hiddenSize)
        queries = TensorStorage(zeros: capacity * config.queryWidth)
        keys = TensorStorage(zeros: capacity * config.kvWidth)
        values = TensorStorage(zeros: capacity * config.kvWidth)
        attended = TensorStorage(zeros: capacity * config.queryWidth)
        gate = TensorStorage(zeros: capacity * config.ffnSize)
        up = TensorStorage(zeros: capacity * config.ffnSize)
    }

    /// Runs layer `layer` over one sequence of `rows` positions: `output = layer(input)`, both
    /// `rows × hidden` row-major (`output` may equal `input`). `observe` sees each of the four
    /// linear inputs (`rows × width`, valid only during the call) as soon as it is computed.
    ///
    /// - Throws: `InferenceError` for a layer index or row count out of range.
    public func run(
        layer: Int, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        observe: ((LinearInputSite, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) throws(InferenceError) {
        let config = model.config
        guard (0..<config.layerCount).contains(layer) else {
            throw InferenceError("layer \(layer) is outside 0..<\(config.layerCount)")
        }
        guard (1...capacity).contains(rows) else {
            throw InferenceError("\(rows) rows do not fit the layer forward capacity \(capacity)")
        }
        typealias Part = LlamaTensorNames.Layer
        // Model's initialiser guarantees every layer tensor is present with the right shape.
        let tensors = Part.allCases.map { model.tensor($0.name(layer: layer))! }
        let storages = tensors.map(\.storage)
        func weight(_ part: Part) -> UnsafePointer<Float> {
            UnsafePointer(storages[Part.allCases.firstIndex(of: part)!].buffer.baseAddress!)
        }
        let hidden = config.hiddenSize, queryWidth = config.queryWidth, kvWidth = config.kvWidth, ffn = config.ffnSize
        let normed = normed.buffer.baseAddress!, queries = queries.buffer.baseAddress!
        let keys = keys.buffer.baseAddress!, values = values.buffer.baseAddress!
        let attended = attended.buffer.baseAddress!, gate = gate.buffer.baseAddress!, up = up.buffer.baseAddress!
        func show(_ site: LinearInputSite, _ pointer: UnsafeMutablePointer<Float>, _ width: Int) {
            observe?(site, UnsafeBufferPointer(start: pointer, count: rows * width))
        }

        if output != UnsafeMutablePointer(mutating: input) { output.update(from: input, count: rows * hidden) }
        shears_rmsnorm(output, weight(.attentionNorm), normed, rows, hidden, config.rmsNormEpsilon)
        show(.attentionInput, normed, hidden)
        LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: weight(.query),
                             outputs: queryWidth, into: queries, yStride: queryWidth)
        LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: weight(.key),
                             outputs: kvWidth, into: keys, yStride: kvWidth)
        LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: weight(.value),
                             outputs: kvWidth, into: values, yStride: kvWidth)
        let cosines = rotary.cosines.buffer.baseAddress!, sines = rotary.sines.buffer.baseAddress!
        shears_rope(queries, rows, queryWidth, config.headCount, config.headDim, cosines, sines, 0)
        shears_rope(keys, rows, kvWidth, config.kvHeadCount, config.headDim, cosines, sines, 0)
        attention.run(queries: queries, rows: rows, firstPosition: 0, keys: keys, values: values, output: attended)
        show(.attentionContext, attended, queryWidth)
        LinearAlgebra.linear(attended, rows: rows, inputs: queryWidth, xStride: queryWidth,
                             weight: weight(.attentionOutput), outputs: hidden, into: output, yStride: hidden,
                             accumulate: true)

        shears_rmsnorm(output, weight(.ffnNorm), normed, rows, hidden, config.rmsNormEpsilon)
        show(.ffnInput, normed, hidden)
        LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: weight(.gate),
                             outputs: ffn, into: gate, yStride: ffn)
        LinearAlgebra.linear(normed, rows: rows, inputs: hidden, xStride: hidden, weight: weight(.up),
                             outputs: ffn, into: up, yStride: ffn)
        shears_silu_mul(gate, up, rows * ffn)
        show(.ffnHidden, gate, ffn)
        LinearAlgebra.linear(gate, rows: rows, inputs: ffn, xStride: ffn, weight: weight(.down),
                             outputs: hidden, into: output, yStride: hidden, accumulate: true)
        withExtendedLifetime(storages) {}
    }
}
