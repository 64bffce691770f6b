import ModelIO

/// Where a prune records each finished layer so that a killed run can continue from the last one
/// (`PruneOptions.journal`; `shears prune --resume`).
///
/// The engine calls `resume` once, right before its layer loop — after the model steps, a
/// surveying allocator's dense pre-pass and the gradient pass, which all read the model as it was
/// before any layer was pruned and are therefore recomputed identically — and `record` after
/// every pruned layer. Continuing from a checkpoint then runs exactly the computation the
/// uninterrupted prune would have run from that layer on, so the result is bit-identical (for
/// the same thread count: BLAS rounding depends on it).
public protocol PruneJournal: AnyObject {
    /// The checkpoint to continue from, with the finished layers' weights already restored into
    /// `model`; nil to start at the first layer.
    ///
    /// - Parameter tokens: The calibration tokens of this run (the activations' row count), 0
    ///   without calibration data.
    func resume(model: Model, tokens: Int) throws(PruneError) -> PruneCheckpoint?

    /// Records that `layer` is finished: its tensors in `model` are final, `activations` (nil when
    /// the prune runs without data) holds the calibration windows' input to the next layer, and
    /// `report` is its outcome.
    func record(
        layer: Int, report: LayerReport, model: Model, activations: UnsafeBufferPointer<Float>?
    ) throws(PruneError)
}

/// Where an interrupted prune continues.
public struct PruneCheckpoint: Sendable {
    /// The finished layers' reports, in order (their `plan` is filled in by the engine).
    public var layers: [LayerReport]
    /// The first layer still to prune.
    public var nextLayer: Int
    /// The calibration windows' input to `nextLayer` (tokens × hidden), nil without data.
    public var activations: [Float]?

    /// Creates a checkpoint.
    public init(layers: [LayerReport], nextLayer: Int, activations: [Float]?) {
        self.layers = layers
        self.nextLayer = nextLayer
        self.activations = activations
    }
}
