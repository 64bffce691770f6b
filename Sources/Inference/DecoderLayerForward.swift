import ModelIO

/// One decoder layer run on its own over independent sequences (each from position 0), for
/// layer-wise pruning: reads the layer's current weights from the model on every call, so a
/// replaced (pruned) tensor takes effect at the next call. A thin driver of `DecoderLayer`.
///
/// Not thread-safe: use one instance per thread.
public final class DecoderLayerForward {
    /// The model whose layers are run.
    public let model: Model
    /// The most rows (positions) one sequence may have.
    public let capacity: Int

    private let config: LlamaConfig
    private let rotary: RotaryTable
    private let attention: CausalAttention
    private let scratch: LayerScratch
    /// One sequence's keys and values, `capacity × maxKVWidth` each.
    private let keys, values: TensorStorage

    /// Prepares buffers for sequences of up to `capacity` positions of any layer of `model`.
    ///
    /// - Throws: `InferenceError` if `capacity` is not positive.
    public init(model: Model, capacity: Int) throws(InferenceError) {
        guard capacity >= 1 else { throw InferenceError("layer forward capacity \(capacity) must be at least 1") }
        let config = model.config
        self.model = model
        self.config = config
        self.capacity = capacity
        rotary = RotaryTable(
            positions: capacity, headDim: config.headDim, base: config.ropeTheta, scaling: config.ropeScaling)
        attention = CausalAttention(
            config: config, capacity: capacity, block: ForwardPass.defaultAttentionBlock,
            workers: blasThreadCount())
        scratch = LayerScratch(config: config, rows: capacity)
        keys = TensorStorage(zeros: capacity * config.maxKVWidth)
        values = TensorStorage(zeros: capacity * config.maxKVWidth)
    }

    /// Runs layer `layer` over one sequence of `rows` positions: `output = layer(input)`, both
    /// `rows × hidden` row-major (`output` may equal `input`). `observe` sees each of the linear
    /// inputs the layer has (`rows × width`, valid only during the call) as soon as it is
    /// computed; `record` keeps the activations a backward pass needs.
    ///
    /// - Throws: `InferenceError` for a layer index or row count out of range, or a model whose
    ///   shape changed since this instance was created in a way its buffers do not fit (layers
    ///   added or removed, or widened).
    public func run(
        layer: Int, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        observe: LinearInputObserver? = nil
    ) throws(InferenceError) {
        try run(layer: layer, input: input, rows: rows, output: output, observe: observe, record: nil)
    }

    /// `run(layer:input:rows:output:observe:)` that also fills `record`; with `recordOnly` it
    /// stops once the record is complete (for a backward pass), leaving `output` undefined. `mix`
    /// mixes the layer's units with knockoffs (SCOP's selection layer).
    package func run(
        layer: Int, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        observe: LinearInputObserver?, record: LayerActivationRecord?, recordOnly: Bool = false, mix: UnitMix? = nil
    ) throws(InferenceError) {
        let weights = ModelWeights(model)
        // Surgery within layers only shrinks them, which the buffers still fit.
        let now = weights.config
        guard now.layerCount == config.layerCount, now.hiddenSize == config.hiddenSize, now.headDim == config.headDim,
            now.maxQueryWidth <= config.maxQueryWidth, now.maxKVWidth <= config.maxKVWidth,
            now.maxFFNSize <= config.maxFFNSize, now.maxGroupSize <= config.maxGroupSize
        else {
            throw InferenceError(
                "the model's shape changed (surgery) beyond what this layer forward was made for; create a new one")
        }
        guard (0..<config.layerCount).contains(layer) else {
            throw InferenceError("layer \(layer) is outside 0..<\(config.layerCount)")
        }
        guard (1...capacity).contains(rows) else {
            throw InferenceError("\(rows) rows do not fit the layer forward capacity \(capacity)")
        }
        if output != UnsafeMutablePointer(mutating: input) {
            output.update(from: input, count: rows * config.hiddenSize)
        }
        var timer = PhaseTimer()
        DecoderLayer(weights, layer: layer).forward(
            output, rows: rows,
            cache: .sequence(keys: keys.buffer.baseAddress!, values: values.buffer.baseAddress!, firstPosition: 0),
            scratch: scratch, rotary: rotary, attention: attention, observe: observe, record: record,
            recordOnly: recordOnly && record != nil, mix: mix, timer: &timer)
        withExtendedLifetime(weights) {}
    }
}
