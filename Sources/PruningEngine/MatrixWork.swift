import ModelIO

/// One linear matrix on its way through the steps: its weights (a private Float32 copy that
/// replaces the model's tensor at the end), the statistics of its input, and what the steps
/// decided so far.
public final class MatrixWork {
    /// Tensor name, e.g. `blk.3.ffn_up.weight`.
    public let name: String
    /// Decoder layer index.
    public let layer: Int
    /// Which of the layer's seven linear matrices this is.
    public let part: LlamaTensorNames.Layer
    /// Output dimension (rows of `[out, in]`).
    public let rows: Int
    /// Input dimension (columns).
    public let columns: Int
    /// The weights, `rows × columns` row-major; steps may change them.
    public let weights: TensorStorage
    /// Statistics of this matrix's input (nil when no step asked for any).
    public let statistics: InputStatistics?
    /// The dense model's loss gradient with respect to this matrix (nil when no step asked for it).
    public let gradient: WeightGradient?
    /// The per-layer target a model-surveying allocator (OWL) planned for this matrix's layer
    /// before pruning started; its allocator step copies it into `sparsity` and `pattern`.
    public let plan: LayerTarget?
    /// Target fraction of zeros, set by an allocator (0 until then).
    public var sparsity: Double = 0
    /// The N:M layout the mask must follow when an allocator set one per matrix (OWL's per-layer
    /// N:M) or an N:M selector chose the mask; `.unstructured` means exactly `sparsity` per row
    /// even under an N:M selector. nil: the selector's own pattern. Refiners read it to keep the
    /// layout.
    public var pattern: SparsityPattern?
    /// One score per weight (lower = pruned first), set by a criterion; empty until then.
    public var scores: [Float] = []
    /// One flag per weight, 1 = pruned; empty until a selector or reconstructor sets it.
    public var mask: [UInt8] = []
    /// Remarks for the report (e.g. a damping retry).
    public var notes: [String] = []

    /// Wraps a copy of `weights` for pruning.
    public init(
        name: String, layer: Int, part: LlamaTensorNames.Layer, rows: Int, columns: Int,
        weights: TensorStorage, statistics: InputStatistics?, gradient: WeightGradient? = nil,
        plan: LayerTarget? = nil
    ) {
        self.name = name
        self.layer = layer
        self.part = part
        self.rows = rows
        self.columns = columns
        self.weights = weights
        self.statistics = statistics
        self.gradient = gradient
        self.plan = plan
    }

    /// `Int(Double(count) · sparsity)`: the pruned count of a group of `count` weights, truncated
    /// in Double exactly as the reference's Python `int(n * p)`.
    public func prunedCount(of count: Int) -> Int { Int(Double(count) * sparsity) }

    /// The input statistics, or an error naming the step that needs them.
    package func requireStatistics(
        _ what: StatisticsRequirement, for step: String
    ) throws(PruneError) -> InputStatistics {
        guard let statistics, statistics.requirement.contains(what) else {
            throw PruneError("\(name): step \(step) needs calibration statistics that were not gathered")
        }
        return statistics
    }

    /// The gradient, or an error naming the step that needs it.
    package func requireGradient(fisher: Bool = false, for step: String) throws(PruneError) -> WeightGradient {
        guard let gradient, !fisher || gradient.fisher != nil else {
            throw PruneError("\(name): step \(step) needs model gradients that were not computed")
        }
        return gradient
    }

    /// Throws unless a criterion has filled `scores` (the check of every selector).
    package func requireScores(for step: String) throws(PruneError) {
        guard scores.count == rows * columns else {
            throw PruneError("\(name): step \(step) needs scores from a criterion step before it")
        }
    }
}
