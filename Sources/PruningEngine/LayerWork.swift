import Inference
import ModelIO

/// One decoder layer on its way through a `LayerStep`: its targeted matrices as the matrix steps
/// before left them, the statistics of their inputs, and the layer's calibration data (each
/// window's input and dense output), with the layer routine to run it again.
///
/// The model still holds the layer's dense weights while layer steps run; the engine puts each
/// matrix's (masked) weights into the model after the reconstructors.
public final class LayerWork {
    /// Decoder layer index.
    public let layer: Int
    /// The model being pruned (read-only for steps, except through `remove(_:)`).
    public let model: Model
    /// The layer's targeted matrices, in part order.
    public private(set) var matrices: [MatrixWork]
    /// Statistics of the layer's linear inputs, by site (empty when no step asked for any).
    public let statistics: [LinearInputSite: InputStatistics]

    private let activations: CalibrationActivations?
    private let forward: DecoderLayerForward?
    private let plan: LayerTarget?

    init(
        layer: Int, model: Model, matrices: [MatrixWork], statistics: [LinearInputSite: InputStatistics],
        activations: CalibrationActivations?, forward: DecoderLayerForward?, plan: LayerTarget?
    ) {
        self.layer = layer
        self.model = model
        self.matrices = matrices
        self.statistics = statistics
        self.activations = activations
        self.forward = forward
        self.plan = plan
    }

    /// The matrix for `part`, if it is targeted.
    public func matrix(_ part: LlamaTensorNames.Layer) -> MatrixWork? { matrices.first { $0.part == part } }

    /// Number of calibration windows (0 when the prune uses no data).
    public var windowCount: Int { activations?.windowCount ?? 0 }

    /// Window `index`'s input to this layer, `rows × hidden` (valid until the step returns).
    public func input(window index: Int) -> UnsafeBufferPointer<Float> { activations!.input(window: index) }

    /// Window `index`'s dense output of this layer, `rows × hidden` (valid until the step returns).
    public func denseOutput(window index: Int) -> UnsafeBufferPointer<Float> { activations!.denseOutput(window: index) }

    /// Throws when the prune is cancelled (a long layer step checks it between windows).
    package func checkCancellation() throws(PruneError) { try activations?.checkCancellation() }

    /// Runs the layer on window `index` into `output` (`rows × hidden`) with `weights` in place of
    /// the model's tensors of the same names for the call (e.g. candidate masked weights). The
    /// model is left as it was.
    ///
    /// - Throws: `PruneError` without calibration data, for a replacement of the wrong shape, or
    ///   when the prune is cancelled.
    public func run(
        window index: Int, into output: UnsafeMutablePointer<Float>, weights: [String: TensorStorage] = [:]
    ) throws(PruneError) {
        try run(window: index, into: output, weights: weights, record: nil)
    }

    /// `run(window:into:weights:)` that also records the activations a backward pass needs.
    package func run(
        window index: Int, into output: UnsafeMutablePointer<Float>, weights: [String: TensorStorage],
        record: LayerActivationRecord?
    ) throws(PruneError) {
        guard let activations, let forward else {
            throw PruneError("layer \(layer): this prune has no calibration data to run the layer on")
        }
        var originals: [Tensor] = []
        for (name, storage) in weights {
            guard let tensor = model.tensor(name), tensor.count == storage.count else {
                throw PruneError("layer \(layer): no tensor \(name) with \(storage.count) elements to stand in for")
            }
            originals.append(tensor)
            model.replace(Tensor(name: name, shape: tensor.shape, storage: storage, sourceType: tensor.sourceType))
        }
        defer { for tensor in originals { model.replace(tensor) } }
        try activations.forward(forward, layer: layer, window: index, into: output, record: record)
    }

    /// Removes structured units of this layer (query heads, KV groups, FFN channels, its attention
    /// or FFN; not whole blocks) from the model. Matrices whose shape changes are taken afresh
    /// from the model: what earlier steps decided for them (scores, masks) is dropped.
    ///
    /// - Throws: `PruneError` for a removal in another layer, a block removal, or an illegal one.
    public func remove(_ removal: StructuralRemoval) throws(PruneError) {
        let target: Int
        switch removal {
        case .blocks: throw PruneError("layer \(layer): a layer step cannot remove whole blocks")
        case .hiddenChannels: throw PruneError("layer \(layer): a layer step cannot remove hidden channels")
        case .queryHeads(let layer, _), .kvGroups(let layer, _), .ffnChannels(let layer, _), .attention(let layer),
            .ffn(let layer):
            target = layer
        }
        guard target == layer else { throw PruneError("layer \(layer): a layer step cannot change layer \(target)") }
        do { try model.remove(removal) } catch { throw PruneError("layer \(layer): \(error.message)") }
        matrices = matrices.compactMap { work in
            guard let tensor = model.tensor(work.name) else { return nil }
            if tensor.rows == work.rows && tensor.columns == work.columns { return work }
            let storage = tensor.storage
            let copy = TensorStorage(count: tensor.count) { _ = $0.update(fromContentsOf: storage.buffer) }
            let fresh = MatrixWork(
                name: work.name, layer: layer, part: work.part, rows: tensor.rows,
                columns: tensor.columns, weights: copy, statistics: nil, plan: plan)
            fresh.sparsity = work.sparsity
            return fresh
        }
    }
}
