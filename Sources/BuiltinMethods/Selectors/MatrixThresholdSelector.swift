import PruningEngine

/// Selector: one threshold for the whole matrix, `τ = sorted(scores)[Int(count · sparsity)]`,
/// pruning every score `≤ τ` — the reference magnitude baseline's rule, which prunes one weight
/// more than the nominal count (plus any ties with τ). Sparsity 0 prunes nothing. When an
/// allocator set an N:M `MatrixWork.pattern` (OWL's per-layer N:M) it selects by that pattern.
public struct MatrixThresholdSelector: PruneStep {
    /// "per-matrix".
    public var name: String { "per-matrix" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Creates the selector.
    public init() {}

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try work.requireScores(for: name)
        work.mask = try MaskSelection.matrixThreshold(work)
    }
}
