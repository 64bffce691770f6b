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

    /// The uniform allocator a method with its own `sparsity` option brings, under the rules every
    /// method shares: an N:M `pattern` implies its sparsity (`1 − N/M`; a given `sparsity` must
    /// match it), and unstructured without a sparsity brings no allocator, leaving the matrix
    /// targets to one in front (OWL, per-layer sparsity). Built-in and plugin methods share it.
    ///
    /// - Throws: `PruneError` for an invalid pattern, a sparsity contradicting it, or a sparsity
    ///   outside [0, 1).
    public static func implied(by sparsity: Double?, pattern: SparsityPattern) throws(PruneError) -> [any PruneStep] {
        if let implied = try pattern.validated().impliedSparsity {
            if let sparsity, abs(sparsity - implied) > 1e-9 {
                throw PruneError("sparsity \(sparsity) contradicts pattern \(pattern) (which implies \(implied))")
            }
            return [try UniformSparsity(implied)]
        }
        guard let sparsity else { return [] }
        return [try UniformSparsity(sparsity)]
    }
}
