import ModelIO
import PruningEngine

/// Allocator: a given sparsity per decoder layer (e.g. a ramp computed in a recipe), indexed by
/// layer; every targeted matrix of layer ℓ gets `sparsities[ℓ]`.
public struct LayerSparsity: PruneStep {
    /// One target per decoder layer, each in [0, 1).
    public let sparsities: [Double]
    /// "layer-sparsity".
    public var name: String { "layer-sparsity" }
    /// Allocator.
    public var stage: PruneStage { .allocator }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// - Throws: `PruneError` for an empty list or a value outside [0, 1).
    public init(_ sparsities: [Double]) throws(PruneError) {
        guard !sparsities.isEmpty else { throw PruneError("layer sparsity needs one value per layer, got none") }
        if let bad = sparsities.firstIndex(where: { !($0 >= 0 && $0 < 1) }) {
            throw PruneError("layer sparsity for layer \(bad) is \(sparsities[bad]), outside [0, 1)")
        }
        self.sparsities = sparsities
    }

    /// The mean of the per-layer targets (the model's sparsity when every layer has the same
    /// targeted matrices and the rows round exactly).
    public var meanSparsity: Double { sparsities.reduce(0, +) / Double(sparsities.count) }

    /// Checks that the list has one value per decoder layer of `model`.
    ///
    /// - Throws: `PruneError` when the counts differ.
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {
        guard sparsities.count == model.config.layerCount else {
            throw PruneError(
                "layer sparsity lists \(sparsities.count) values for a model of \(model.config.layerCount) layers")
        }
    }

    /// Sets the matrix's target from its layer's value.
    ///
    /// - Throws: `PruneError` when the list has no value for the layer (`validate` checks the count
    ///   before the engine starts).
    public func run(_ work: MatrixWork) throws(PruneError) {
        guard work.layer < sparsities.count else {
            throw PruneError(
                "\(work.name): layer sparsity lists \(sparsities.count) layers, no value for layer \(work.layer)")
        }
        work.sparsity = sparsities[work.layer]
    }
}
