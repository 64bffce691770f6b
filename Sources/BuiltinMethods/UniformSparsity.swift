/// Allocator: the same target sparsity for every targeted matrix.
public struct UniformSparsity: PruneStep {
    /// The fraction of zeros asked for, in [0, 1).
    public let sparsity: Double
    /// "uniform".
    public var name: String { "uniform" }
    /// Allocator.
    public var stage: PruneStage { .allocator }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// - Throws: `PruneError` unless `0 ≤ sparsity < 1`.
    public init(_ sparsity: Double) throws(PruneError) {
        guard sparsity >= 0, sparsity < 1 else { throw PruneError("sparsity \(sparsity) is outside [0, 1)") }
        self.sparsity = sparsity
    }

    /// Sets the matrix's target.
    public func run(_ work: MatrixWork) throws(PruneError) { work.sparsity = sparsity }
}
